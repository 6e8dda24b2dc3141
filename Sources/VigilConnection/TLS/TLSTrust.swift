#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import X509

/// Which server certificates a client accepts: exactly those issued by one pinned CA. No system trust
/// store is consulted: a Vigil server makes its own CA, and the pin is how a client knows it.
public struct TLSTrust: Sendable {
    /// The CA the server's chain must contain (the SHA-256 fingerprint of its DER certificate).
    public var pin: CertificateFingerprint
    /// The CA itself, when it came from a file (`--ca`); with only a pin, the server's chain must carry it.
    public var caCertificate: Certificate?
    /// Where the pin came from, for error messages: "from the enrollment token", "from /etc/vigil/ca.pem".
    public var pinSource: String

    /// Trust the CA with this fingerprint (the server must send it in its chain).
    public static func pinned(_ fingerprint: CertificateFingerprint, source: String = "from the enrollment token") -> TLSTrust {
        TLSTrust(pin: fingerprint, caCertificate: nil, pinSource: source)
    }

    /// Trust the CA in this certificate; its fingerprint becomes the pin.
    public static func ca(_ certificate: Certificate, source: String) throws -> TLSTrust {
        let der = try certificate.derBytes()
        return TLSTrust(pin: CertificateFingerprint(derEncoded: der), caCertificate: certificate, pinSource: source)
    }

    /// Trust the CA in a PEM file (the first certificate in it).
    public static func caFile(_ path: String) throws(TLSConfigurationError) -> TLSTrust {
        let text: String
        do {
            text = try String(contentsOf: URL(filePath: path), encoding: .utf8)
        } catch {
            throw TLSConfigurationError("cannot read the CA file \(path): \(error.localizedDescription)")
        }
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: text)
        } catch {
            throw TLSConfigurationError("\(path) holds no PEM certificate: \(error)")
        }
        do {
            return try .ca(certificate, source: "from \(path)")
        } catch {
            throw TLSConfigurationError("cannot encode the CA in \(path): \(error)")
        }
    }
}

/// A TLS option that cannot be used: an unreadable CA file, a malformed fingerprint.
public struct TLSConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
