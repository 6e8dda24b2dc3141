/// How an email channel protects its SMTP connection: the `tls` key.
public enum EmailTLSMode: String, Sendable, Equatable, CaseIterable {
    /// Plaintext connection upgraded with `STARTTLS` before anything else (submission, port 587).
    /// A server that does not offer STARTTLS is refused: never a silent downgrade.
    case starttls
    /// TLS from the first byte (SMTPS, port 465).
    case implicit
    /// No TLS (a local relay on port 25). AUTH is refused unless `allow_insecure_auth` is set.
    case none

    /// The port used when `port` is not set.
    public var defaultPort: Int {
        switch self {
        case .starttls: 587
        case .implicit: 465
        case .none: 25
        }
    }
}
