/// One notification channel as the configuration file (or the API) describes it: a name routes refer
/// to, a `type`, and that type's keys. Decodable from YAML or JSON with snake_case keys; call
/// ``validate()`` (and ``validate(_:)`` for a list) before ``makeChannel(logger:httpClient:)``.
///
/// Secrets are never held here as values read from files: ``secretFile``, ``botTokenFile`` and
/// ``passwordFile`` are paths read when the channel is made, and no error or log line carries a
/// secret (an inline ``secret`` is allowed for tests and quick starts, and is redacted the same way).
public struct ChannelSettings: Sendable, Equatable {
    public var name: String
    public var kind: ChannelKind

    // MARK: webhook and alertmanager

    /// Webhook: the URL POSTed to (http or https). Alertmanager: its base URL (`http://am:9093`).
    public var url: String?
    /// Webhook: how the body is shaped.
    public var preset: WebhookPreset = .generic
    /// Webhook: the HMAC-SHA256 key for `X-Vigil-Signature-256`, inline (prefer ``secretFile``).
    public var secret: String?
    /// Webhook: a file holding the HMAC key (surrounding whitespace ignored).
    public var secretFile: String?
    /// Webhook and Alertmanager: extra request headers (an `Authorization` for a proxy, say).
    public var headers: [String: String] = [:]
    /// Telegram: the chat to post to (a number, or `@channelname`).
    public var chatID: String?
    /// Telegram: a file holding the bot token, when it is not in the URL.
    public var botTokenFile: String?
    /// Alertmanager: how often the dispatcher re-sends a firing alert (Prometheus' `resend_delay`).
    public var resendInterval: Duration = ChannelSettings.defaultResendInterval

    // MARK: email

    public var host: String?
    /// The SMTP port; nil means the TLS mode's usual one (587, 465 or 25).
    public var port: Int?
    public var tls: EmailTLSMode = .starttls
    /// Allows AUTH over a connection without TLS (`tls: none`); off by default.
    public var allowInsecureAuth: Bool = false
    public var username: String?
    /// A file holding the SMTP password.
    public var passwordFile: String?
    /// The name of an environment variable holding the SMTP password.
    public var passwordEnv: String?
    /// The sender, `vigil@example.com` or `Vigil <vigil@example.com>`.
    public var from: String?
    /// The recipients, in the same forms as ``from``.
    public var to: [String] = []
    /// The name sent in EHLO; nil means this machine's host name.
    public var helloName: String?
    /// Each SMTP command's own time limit (the whole conversation is bounded by ``timeout``).
    public var commandTimeout: Duration = ChannelSettings.defaultCommandTimeout

    // MARK: all

    /// The whole delivery's time limit; nil means the kind's default (10 s for HTTP, 30 s for email).
    public var timeout: Duration?
    /// PEM file of CA certificates to trust instead of the system's (https webhooks, Alertmanager, SMTP TLS).
    public var caFile: String?

    public static let defaultHTTPTimeout: Duration = .seconds(10)
    public static let defaultEmailTimeout: Duration = .seconds(30)
    public static let defaultCommandTimeout: Duration = .seconds(10)
    public static let defaultResendInterval: Duration = .seconds(60)

    public init(name: String, kind: ChannelKind) {
        self.name = name
        self.kind = kind
    }

    /// ``timeout`` or the kind's default.
    public var effectiveTimeout: Duration {
        self.timeout ?? (self.kind == .email ? Self.defaultEmailTimeout : Self.defaultHTTPTimeout)
    }

    /// ``port`` or the TLS mode's default.
    public var effectivePort: Int { self.port ?? self.tls.defaultPort }
}
