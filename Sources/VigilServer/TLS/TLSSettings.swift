/// The `tls.*` settings: encryption on both ports (agents and HTTP), on by default.
///
/// With no files given the server keeps its own CA and server certificate in `<data_dir>/tls/`
/// (``TLSFiles``); with `storage: memory` it makes them in memory for the life of the process.
public struct TLSSettings: Sendable, Equatable {
    /// Encryption on the agent and HTTP ports. Off: both ports speak plaintext only (and a TLS
    /// ClientHello is refused with a log line instead of being read as a giant frame).
    public var enabled = true
    /// A PEM file with the server certificate (and any intermediates). Set together with
    /// ``privateKeyFile``; the server then does not make its own.
    public var certificateFile: String?
    /// A PEM file with the server certificate's private key.
    public var privateKeyFile: String?
    /// A PEM file with the CA the certificate chains to: its SHA-256 fingerprint is what enrollment
    /// tokens pin. Default with operator files: the last certificate of ``certificateFile``.
    public var caFile: String?
    /// DNS names and IP addresses the generated server certificate is valid for. Default: this
    /// machine's host name, `localhost`, `127.0.0.1`, `::1` and the bind addresses when specific.
    public var names: [String] = []
    /// The oldest TLS version accepted. 1.3 unless an old client needs 1.2.
    public var minimumVersion: TLSVersionSetting = .v1_3
    /// From the first byte of a ClientHello to a finished handshake; a peer that stalls is closed.
    public var handshakeTimeout: Duration = .seconds(10)
    /// Lifetime of a server certificate the server issues itself (browsers refuse more than 398 days).
    public var certificateValidity: Duration = .seconds(397 * 86_400)
    /// Lifetime of the CA the server makes on first start.
    public var caValidity: Duration = .seconds(3650 * 86_400)
    /// A generated server certificate this close to expiry is reissued from the same CA at start and
    /// on SIGHUP (an operator's files are never replaced).
    public var renewBefore: Duration = .seconds(30 * 86_400)

    public init() {}

    /// Whether the operator gave the certificate (then nothing is generated).
    public var usesOperatorFiles: Bool { self.certificateFile != nil }

    func validate() throws {
        guard (self.certificateFile == nil) == (self.privateKeyFile == nil) else {
            throw ConfigurationError(description: "tls.certificate and tls.private_key are set together (got only \(self.certificateFile == nil ? "tls.private_key" : "tls.certificate"))")
        }
        if self.caFile != nil, self.certificateFile == nil {
            throw ConfigurationError(description: "tls.ca names the CA of an operator's certificate: set tls.certificate and tls.private_key too (without them the server makes its own CA)")
        }
        guard self.handshakeTimeout >= .milliseconds(10) else {
            throw ConfigurationError(description: "tls.handshake_timeout must be at least 10ms (got \(self.handshakeTimeout.compactDescription))")
        }
        guard self.certificateValidity >= .seconds(3600), self.caValidity > self.certificateValidity else {
            throw ConfigurationError(description: "tls.certificate_validity must be at least 1h and below tls.ca_validity")
        }
        guard self.renewBefore < self.certificateValidity else {
            throw ConfigurationError(description: "tls.renew_before must be below tls.certificate_validity")
        }
    }
}

/// `tls.min_version`: `1.3` or `1.2`.
public enum TLSVersionSetting: String, Sendable, Equatable, CaseIterable {
    case v1_2 = "1.2"
    case v1_3 = "1.3"
}
