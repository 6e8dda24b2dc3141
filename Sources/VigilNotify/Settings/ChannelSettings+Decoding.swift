import Foundation
import VigilProtocol

extension ChannelSettings: Decodable {
    enum Key: String, CaseIterable {
        case name, type, url, preset, secret, headers, timeout, host, port, tls, username, from, to
        case secretFile = "secret_file"
        case chatID = "chat_id"
        case botTokenFile = "bot_token_file"
        case resendInterval = "resend_interval"
        case allowInsecureAuth = "allow_insecure_auth"
        case passwordFile = "password_file"
        case passwordEnv = "password_env"
        case helloName = "hello_name"
        case commandTimeout = "command_timeout"
        case caFile = "ca_file"
    }

    /// Any key, so that an unknown (misspelt) one is named in the error instead of ignored.
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        func string(_ key: Key) throws -> String? {
            try container.decodeIfPresent(String.self, forKey: AnyKey(stringValue: key.rawValue))
        }
        let position = decoder.codingPath.last.map { "channels[\($0.intValue.map(String.init) ?? $0.stringValue)]" } ?? "channel"
        guard let name = try string(.name), !name.isEmpty else {
            throw ChannelSettingsError(channel: position, key: "name", problem: "missing: every channel needs a name routes can refer to")
        }
        func failure(_ key: Key, _ problem: String) -> ChannelSettingsError {
            ChannelSettingsError(channel: name, key: key.rawValue, problem: problem)
        }
        let known = Set(Key.allCases.map(\.rawValue))
        if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw ChannelSettingsError(channel: name, key: unknown, problem: "unknown key")
        }
        guard let typeText = try string(.type) else {
            throw failure(.type, "missing: one of \(ChannelKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let kind = ChannelKind(rawValue: typeText.lowercased()) else {
            throw failure(.type, "unknown type \(typeText.logEscaped) (one of \(ChannelKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.init(name: name, kind: kind)

        func duration(_ key: Key) throws -> Duration? {
            let field = AnyKey(stringValue: key.rawValue)
            guard container.contains(field) else { return nil }
            let text: String
            if let number = try? container.decode(Double.self, forKey: field) {
                text = String(number)
            } else if let written = try? container.decode(String.self, forKey: field) {
                text = written
            } else {
                throw failure(key, "not a duration (write 500ms, 5s, 2m)")
            }
            guard let value = SettingsDuration.parse(text) else {
                throw failure(key, "\(text.logEscaped) is not a duration (write 500ms, 5s, 2m; at most 24h)")
            }
            guard value > .zero else { throw failure(key, "must be greater than 0 (got \(text.logEscaped))") }
            return value
        }

        self.url = try string(.url)
        if let preset = try string(.preset) {
            guard let value = WebhookPreset(rawValue: preset.lowercased()) else {
                throw failure(.preset, "unknown preset \(preset.logEscaped) (one of \(WebhookPreset.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            self.preset = value
        }
        self.secret = try string(.secret)
        self.secretFile = try string(.secretFile)
        self.headers = try container.decodeIfPresent([String: String].self, forKey: AnyKey(stringValue: Key.headers.rawValue)) ?? [:]
        self.timeout = try duration(.timeout)
        let chat = AnyKey(stringValue: Key.chatID.rawValue)
        if container.contains(chat) {
            // YAML reads a numeric chat id as a number; keep it as the text Telegram takes.
            if let number = try? container.decode(Int64.self, forKey: chat) {
                self.chatID = String(number)
            } else {
                self.chatID = try container.decode(String.self, forKey: chat)
            }
        }
        self.botTokenFile = try string(.botTokenFile)
        self.resendInterval = try duration(.resendInterval) ?? Self.defaultResendInterval

        self.host = try string(.host)
        self.port = try container.decodeIfPresent(Int.self, forKey: AnyKey(stringValue: Key.port.rawValue))
        if let tls = try string(.tls) {
            guard let mode = EmailTLSMode(rawValue: tls.lowercased()) else {
                throw failure(.tls, "unknown mode \(tls.logEscaped) (one of \(EmailTLSMode.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            self.tls = mode
        }
        self.allowInsecureAuth = try container.decodeIfPresent(Bool.self, forKey: AnyKey(stringValue: Key.allowInsecureAuth.rawValue)) ?? false
        self.username = try string(.username)
        self.passwordFile = try string(.passwordFile)
        self.passwordEnv = try string(.passwordEnv)
        self.from = try string(.from)
        let toKey = AnyKey(stringValue: Key.to.rawValue)
        if container.contains(toKey) {
            if let one = try? container.decode(String.self, forKey: toKey) {
                self.to = [one]
            } else {
                self.to = try container.decode([String].self, forKey: toKey)
            }
        }
        self.helloName = try string(.helloName)
        self.commandTimeout = try duration(.commandTimeout) ?? Self.defaultCommandTimeout
        self.caFile = try string(.caFile)
    }
}
