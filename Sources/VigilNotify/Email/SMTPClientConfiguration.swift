import NIOSSL

/// Where and how an ``SMTPClient`` talks.
public struct SMTPClientConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var tls: EmailTLSMode
    /// Trust roots and versions for TLS (implicit or after STARTTLS); certificates are verified.
    public var tlsConfiguration: TLSConfiguration
    /// The name given in EHLO/HELO.
    public var helloName: String
    /// With ``password``: authenticate (AUTH PLAIN, else LOGIN, as the server offers).
    public var username: String?
    public var password: String?
    /// AUTH over a connection without TLS is refused unless this is set.
    public var allowInsecureAuth: Bool
    /// Each command's own limit (the greeting's, the TLS handshake's within EHLO's).
    public var commandTimeout: Duration
    /// The whole conversation's limit, connect to QUIT.
    public var timeout: Duration

    public init(
        host: String, port: Int, tls: EmailTLSMode = .starttls, tlsConfiguration: TLSConfiguration = .makeClientConfiguration(),
        helloName: String, username: String? = nil, password: String? = nil, allowInsecureAuth: Bool = false,
        commandTimeout: Duration = ChannelSettings.defaultCommandTimeout, timeout: Duration = ChannelSettings.defaultEmailTimeout
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.tlsConfiguration = tlsConfiguration
        self.helloName = helloName
        self.username = username
        self.password = password
        self.allowInsecureAuth = allowInsecureAuth
        self.commandTimeout = commandTimeout
        self.timeout = timeout
    }
}
