import AsyncHTTPClient
import Foundation
import Logging
import NIOSSL
import VigilAlerting
import VigilProtocol

extension ChannelSettings {
    /// Validates, reads the secret files, and makes the channel.
    ///
    /// - Parameters:
    ///   - httpClient: A client shared by HTTP channels (its owner shuts it down); nil gives each
    ///     HTTP channel its own, shut down by the channel's `shutdown()`. Ignored when ``caFile`` is
    ///     set (the channel needs its own trust roots).
    ///   - environment: Where `password_env` is looked up.
    /// - Throws: ``ChannelSettingsError`` naming the channel and key (never a secret's value).
    public func makeChannel(
        logger: Logger, httpClient: HTTPClient? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> any NotificationChannel {
        try self.validate(environment: environment)
        func failure(_ key: String, _ problem: String) -> ChannelSettingsError {
            ChannelSettingsError(channel: self.name, key: key, problem: problem)
        }
        let tls: TLSConfiguration
        do {
            tls = try HTTPClientFactory.tlsConfiguration(caFile: self.caFile)
        } catch {
            throw failure("ca_file", "cannot load certificates from \((self.caFile ?? "").logEscaped): \(error)")
        }
        let client = self.caFile == nil ? httpClient : nil
        var channelLogger = logger
        channelLogger[metadataKey: "channel"] = "\(self.name)"

        switch self.kind {
        case .webhook:
            var secret: [UInt8]?
            if let inline = self.secret { secret = Array(inline.utf8) }
            if let file = self.secretFile { secret = Array(try Self.readSecret(file, key: "secret_file", failure: failure).utf8) }
            let url: URL
            if self.preset == .telegram, !(self.url?.contains("/bot") ?? false) {
                let token = try Self.readSecret(self.botTokenFile ?? "", key: "bot_token_file", failure: failure)
                let base = (self.url ?? "https://api.telegram.org").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                guard let made = URL(string: "\(base)/bot\(token)/sendMessage") else {
                    throw failure("bot_token_file", "the token does not make a valid URL")
                }
                url = made
            } else {
                url = try Self.httpURL(self.url, key: "url", failure: failure)
            }
            return WebhookChannel(
                name: self.name, url: url, preset: self.preset, secret: secret, headers: self.headers, telegramChatID: self.chatID,
                timeout: self.effectiveTimeout, httpClient: client, tlsConfiguration: tls, logger: channelLogger
            )
        case .alertmanager:
            return AlertmanagerChannel(
                name: self.name, url: try Self.httpURL(self.url, key: "url", failure: failure), resendInterval: self.resendInterval,
                headers: self.headers, timeout: self.effectiveTimeout, httpClient: client, tlsConfiguration: tls, logger: channelLogger
            )
        case .email:
            var password: String?
            if let file = self.passwordFile { password = try Self.readSecret(file, key: "password_file", failure: failure) }
            if let variable = self.passwordEnv { password = environment[variable] }
            let configuration = SMTPClientConfiguration(
                host: self.host ?? "", port: self.effectivePort, tls: self.tls, tlsConfiguration: tls,
                helloName: self.helloName ?? Self.defaultHelloName(), username: self.username, password: password,
                allowInsecureAuth: self.allowInsecureAuth, commandTimeout: self.commandTimeout, timeout: self.effectiveTimeout
            )
            let smtp: SMTPClient
            do {
                smtp = try SMTPClient(configuration: configuration, logger: channelLogger)
            } catch {
                throw failure("ca_file", "TLS cannot be set up: \(error)")
            }
            // Validated above: both parse.
            let from = MailAddress(parsing: self.from ?? "")!
            return EmailChannel(name: self.name, client: smtp, from: from, to: self.to.compactMap(MailAddress.init(parsing:)), logger: channelLogger)
        }
    }

    /// This machine's name for EHLO when it looks like a host name, else an address literal.
    static func defaultHelloName() -> String {
        let name = ProcessInfo.processInfo.hostName
        let usable = !name.isEmpty && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-".unicodeScalars.contains($0)) }
        return usable ? name : "[127.0.0.1]"
    }

    /// A secret file's content without surrounding white space (a trailing newline is usual).
    static func readSecret(_ path: String, key: String, failure: (String, String) -> ChannelSettingsError) throws(ChannelSettingsError) -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw failure(key, "cannot read \(path.logEscaped)")
        }
        let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty else { throw failure(key, "\(path.logEscaped) is empty") }
        return secret
    }
}
