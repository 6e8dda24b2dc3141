/// TLS for a client connection: the trust (a pinned CA) and the lowest protocol version accepted.
public struct ClientTLS: Sendable {
    /// The lowest TLS version a client accepts.
    public enum MinimumVersion: String, Sendable, CaseIterable {
        /// TLS 1.2 or 1.3; only when asked for (an old server behind a proxy).
        case tls12 = "1.2"
        /// TLS 1.3 only: the default.
        case tls13 = "1.3"
    }

    public var trust: TLSTrust
    public var minimumVersion: MinimumVersion
    /// How long the TLS handshake may take after the TCP connect.
    public var handshakeTimeout: Duration

    public init(trust: TLSTrust, minimumVersion: MinimumVersion = .tls13, handshakeTimeout: Duration = .seconds(10)) {
        self.trust = trust
        self.minimumVersion = minimumVersion
        self.handshakeTimeout = handshakeTimeout
    }
}
