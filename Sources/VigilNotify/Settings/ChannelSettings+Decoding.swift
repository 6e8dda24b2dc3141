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
        let position = decoder.codingPath.last.map { "channels[\($0.intValue.map(String.init) ?? $0.stringValue)]" } ?? "channel"
        let container: KeyedDecodingContainer<AnyKey>
        do {
            container = try decoder.container(keyedBy: AnyKey.self)
        } catch {
            throw ChannelSettingsError(channel: position, key: "-", problem: "a channel is a mapping of keys (name, type, …)")
        }
        var channelName = position
        /// The value at `key`, or a ``ChannelSettingsError`` naming the key and what it should be.
        func value<T: Decodable>(_ type: T.Type, _ key: Key, _ expected: String) throws -> T? {
            do {
                return try container.decodeIfPresent(type, forKey: AnyKey(stringValue: key.rawValue))
            } catch {
                throw ChannelSettingsError(channel: channelName, key: key.rawValue, problem: "expected \(expected)")
            }
        }
        func string(_ key: Key) throws -> String? {
            try value(String.self, key, "a string")
        }
        guard let name = try string(.name), !name.isEmpty else {
            throw ChannelSettingsError(channel: position, key: "name", problem: "missing: every channel needs a name routes can refer to")
        }
        channelName = name
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
        self.headers = try value([String: String].self, .headers, "a mapping of header names to strings") ?? [:]
        self.timeout = try duration(.timeout)
        let chat = AnyKey(stringValue: Key.chatID.rawValue)
        if container.contains(chat) {
            // YAML reads a numeric chat id as a number; keep it as the text Telegram takes.
            if let number = try? container.decode(Int64.self, forKey: chat) {
                self.chatID = String(number)
            } else {
                self.chatID = try string(.chatID)
            }
        }
        self.botTokenFile = try string(.botTokenFile)
        self.resendInterval = try duration(.resendInterval) ?? Self.defaultResendInterval

        self.host = try string(.host)
        self.port = try value(Int.self, .port, "a port number")
        if let tls = try string(.tls) {
            guard let mode = EmailTLSMode(rawValue: tls.lowercased()) else {
                throw failure(.tls, "unknown mode \(tls.logEscaped) (one of \(EmailTLSMode.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            self.tls = mode
        }
        let insecure = AnyKey(stringValue: Key.allowInsecureAuth.rawValue)
        if let flag = try? container.decodeIfPresent(Bool.self, forKey: insecure) {
            self.allowInsecureAuth = flag
        } else if let text = try? container.decodeIfPresent(String.self, forKey: insecure) {
            // As the server's settings read booleans: true/yes/1, false/no/0.
            switch text.lowercased() {
            case "true", "yes", "1": self.allowInsecureAuth = true
            case "false", "no", "0": self.allowInsecureAuth = false
            default: throw failure(.allowInsecureAuth, "expected true or false, got \(text.logEscaped)")
            }
        } else if container.contains(insecure) {
            throw failure(.allowInsecureAuth, "expected true or false")
        }
        self.username = try string(.username)
        self.passwordFile = try string(.passwordFile)
        self.passwordEnv = try string(.passwordEnv)
        self.from = try string(.from)
        let toKey = AnyKey(stringValue: Key.to.rawValue)
        if container.contains(toKey) {
            if let one = try? container.decode(String.self, forKey: toKey) {
                self.to = [one]
            } else {
                self.to = try value([String].self, .to, "a list of addresses") ?? []
            }
        }
        self.helloName = try string(.helloName)
        self.commandTimeout = try duration(.commandTimeout) ?? Self.defaultCommandTimeout
        self.caFile = try string(.caFile)
    }
}
