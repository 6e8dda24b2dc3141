import Foundation

extension ChannelSettings: CustomStringConvertible, CustomDebugStringConvertible {
    /// The settings for logs and error messages: the inline secret and header values are replaced
    /// by `<redacted>`, the URL shows only its scheme and host (webhook paths and Telegram URLs
    /// carry credentials). Paths to secret files are shown: they are not secrets.
    public var description: String {
        var parts = ["name: \(self.name)", "type: \(self.kind.rawValue)"]
        switch self.kind {
        case .webhook, .alertmanager:
            if let url = self.url { parts.append("url: \(Self.redactedURL(url))") }
            if self.kind == .webhook { parts.append("preset: \(self.preset.rawValue)") }
            if self.secret != nil { parts.append("secret: <redacted>") }
            if let file = self.secretFile { parts.append("secret_file: \(file)") }
            if !self.headers.isEmpty { parts.append("headers: \(self.headers.keys.sorted().map { "\($0): <redacted>" }.joined(separator: ", "))") }
            if let chat = self.chatID { parts.append("chat_id: \(chat)") }
            if let file = self.botTokenFile { parts.append("bot_token_file: \(file)") }
            if self.kind == .alertmanager { parts.append("resend_interval: \(SettingsDuration.describe(self.resendInterval))") }
        case .email:
            parts.append("host: \(self.host ?? "-"):\(self.effectivePort)")
            parts.append("tls: \(self.tls.rawValue)")
            if let username = self.username { parts.append("username: \(username)") }
            if let file = self.passwordFile { parts.append("password_file: \(file)") }
            if let variable = self.passwordEnv { parts.append("password_env: \(variable)") }
            parts.append("from: \(self.from ?? "-")")
            parts.append("to: \(self.to.joined(separator: ", "))")
        }
        parts.append("timeout: \(SettingsDuration.describe(self.effectiveTimeout))")
        return "ChannelSettings(\(parts.joined(separator: "; ")))"
    }

    public var debugDescription: String { self.description }

    static func redactedURL(_ text: String) -> String {
        guard let url = URL(string: text) else { return "<unparsable URL>" }
        return url.redacted
    }
}
