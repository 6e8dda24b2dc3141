import Foundation
import VigilProtocol

extension ChannelSettings {
    /// Longest channel name (routes and the delivery log show it).
    public static let maximumNameLength = 64

    /// Checks a list of channels: each one (``validate(environment:)``), then that no two share a name.
    public static func validate(_ channels: [ChannelSettings], environment: [String: String] = ProcessInfo.processInfo.environment) throws(ChannelSettingsError) {
        var seen: Set<String> = []
        for channel in channels {
            try channel.validate(environment: environment)
            guard seen.insert(channel.name).inserted else {
                throw ChannelSettingsError(channel: channel.name, key: "name", problem: "duplicate: another channel has this name")
            }
        }
    }

    /// Checks everything that can be checked without sending: the keys the type needs, URLs,
    /// addresses, that secret files can be read (their content is never shown), time limits.
    public func validate(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ChannelSettingsError) {
        func failure(_ key: String, _ problem: String) -> ChannelSettingsError {
            ChannelSettingsError(channel: self.name, key: key, problem: problem)
        }
        guard !self.name.isEmpty, self.name.count <= Self.maximumNameLength,
            self.name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0)) })
        else {
            throw failure("name", "use 1 to \(Self.maximumNameLength) letters, digits, '_', '.' or '-'")
        }
        for (key, value) in [("timeout", self.timeout), ("command_timeout", self.commandTimeout), ("resend_interval", self.resendInterval)] {
            if let value, value <= .zero { throw failure(key, "must be greater than 0") }
        }
        if let caFile = self.caFile { try Self.checkReadable(caFile, key: "ca_file", failure: failure) }
        switch self.kind {
        case .webhook: try self.validateWebhook(failure)
        case .alertmanager:
            _ = try Self.httpURL(self.url, key: "url", failure: failure)
            try Self.checkHeaders(self.headers, failure: failure)
        case .email: try self.validateEmail(environment: environment, failure)
        }
    }

    private func validateWebhook(_ failure: (String, String) -> ChannelSettingsError) throws(ChannelSettingsError) {
        if self.preset == .telegram {
            if self.url != nil { _ = try Self.httpURL(self.url, key: "url", failure: failure) }
            guard let chat = self.chatID, !chat.isEmpty else { throw failure("chat_id", "missing: the Telegram preset needs the chat to post to") }
            let tokenInURL = self.url?.contains("/bot") ?? false
            guard tokenInURL || self.botTokenFile != nil else {
                throw failure("bot_token_file", "missing: give the bot token in the URL (…/bot<token>/sendMessage) or in bot_token_file")
            }
            if let file = self.botTokenFile { try Self.checkReadable(file, key: "bot_token_file", failure: failure) }
        } else {
            let url = try Self.httpURL(self.url, key: "url", failure: failure)
            if self.preset == .ntfy, url.path.split(separator: "/").isEmpty {
                throw failure("url", "the ntfy preset needs the topic in the URL (https://ntfy.sh/<topic>)")
            }
        }
        if self.secret != nil, self.secretFile != nil { throw failure("secret", "set either secret or secret_file, not both") }
        if let secret = self.secret, secret.isEmpty { throw failure("secret", "empty") }
        if let file = self.secretFile { try Self.checkReadable(file, key: "secret_file", failure: failure) }
        try Self.checkHeaders(self.headers, failure: failure)
    }

    private func validateEmail(environment: [String: String], _ failure: (String, String) -> ChannelSettingsError) throws(ChannelSettingsError) {
        guard let host = self.host, !host.isEmpty else { throw failure("host", "missing: the SMTP server's host name") }
        guard !host.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else { throw failure("host", "not a host name") }
        if let port = self.port, !(1...65535).contains(port) { throw failure("port", "must be 1 to 65535 (got \(port))") }
        guard let from = self.from else { throw failure("from", "missing: the sender address") }
        guard MailAddress(parsing: from) != nil else { throw failure("from", "\(from.logEscaped) is not a mail address") }
        guard !self.to.isEmpty else { throw failure("to", "empty: list at least one recipient") }
        for recipient in self.to where MailAddress(parsing: recipient) == nil {
            throw failure("to", "\(recipient.logEscaped) is not a mail address")
        }
        if let name = self.helloName {
            guard !name.isEmpty, !name.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F }) else {
                throw failure("hello_name", "must be a host name or address literal without spaces")
            }
        }
        if self.passwordFile != nil, self.passwordEnv != nil { throw failure("password_file", "set either password_file or password_env, not both") }
        if self.username == nil, self.passwordFile != nil || self.passwordEnv != nil {
            throw failure("username", "missing: a password is set without a username")
        }
        guard let username = self.username else { return }
        if username.isEmpty || username.unicodeScalars.contains(where: { $0.value < 0x20 }) { throw failure("username", "empty or has control characters") }
        if self.tls == .none, !self.allowInsecureAuth {
            throw failure("tls", "none would send the password in clear: use starttls or implicit, or set allow_insecure_auth: true")
        }
        if let file = self.passwordFile {
            try Self.checkReadable(file, key: "password_file", failure: failure)
        } else if let variable = self.passwordEnv {
            guard environment[variable] != nil else { throw failure("password_env", "the environment variable \(variable.logEscaped) is not set") }
        } else {
            throw failure("password_file", "missing: a username needs password_file or password_env")
        }
    }

    /// The URL when it is http(s) with a host.
    static func httpURL(_ text: String?, key: String, failure: (String, String) -> ChannelSettingsError) throws(ChannelSettingsError) -> URL {
        guard let text, !text.isEmpty else { throw failure(key, "missing") }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else {
            throw failure(key, "not a URL")
        }
        guard scheme == "http" || scheme == "https" else {
            // The scheme alone: the rest of a webhook URL is usually a credential.
            throw failure(key, "must be an http or https URL (got a \(scheme.logEscaped) URL)")
        }
        guard let host = url.host, !host.isEmpty else { throw failure(key, "has no host") }
        return url
    }

    /// Header names are HTTP tokens; values hold no control characters; Vigil's own and the framing
    /// headers are not overridden.
    static func checkHeaders(_ headers: [String: String], failure: (String, String) -> ChannelSettingsError) throws(ChannelSettingsError) {
        let token = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        let reserved: Set<String> = ["content-length", "transfer-encoding", "host", "connection", "content-type"]
        for (name, value) in headers {
            guard !name.isEmpty, name.allSatisfy({ token.contains($0) }) else { throw failure("headers", "\(name.logEscaped) is not a header name") }
            let lower = name.lowercased()
            guard !reserved.contains(lower), !lower.hasPrefix("x-vigil-") else { throw failure("headers", "\(name) is set by Vigil itself") }
            // The value may be a credential: never shown.
            guard !value.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) else {
                throw failure("headers", "the value of \(name) has control characters")
            }
        }
    }

    static func checkReadable(_ path: String, key: String, failure: (String, String) -> ChannelSettingsError) throws(ChannelSettingsError) {
        guard FileManager.default.isReadableFile(atPath: path) else { throw failure(key, "cannot read \(path.logEscaped)") }
    }
}
