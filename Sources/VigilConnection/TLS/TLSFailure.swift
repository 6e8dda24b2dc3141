#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Why a TLS connection to a server was refused, in words an operator can act on.
public enum TLSFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server's chain does not contain the pinned CA: another server, or another CA.
    /// `got` is the fingerprint of the last certificate the server sent.
    case caMismatch(got: CertificateFingerprint?, expected: CertificateFingerprint, pinSource: String)
    /// The server's certificate is past its `notAfter` date.
    case expired(notAfter: Date, now: Date)
    /// The server's certificate is not valid before `notBefore`.
    case notYetValid(notBefore: Date, now: Date)
    /// The certificate names neither the DNS name nor the IP address that was dialed.
    case wrongName(names: [String], host: String)
    /// The server would only speak an older TLS version than this client accepts.
    case versionTooOld(minimum: ClientTLS.MinimumVersion)
    /// The chain contains the pinned CA but does not verify against it (signature, constraints, …).
    case untrusted(String)
    /// The server sent no certificate.
    case noCertificate
    /// Any other handshake failure.
    case handshake(String)

    /// Only a CA that is not the pinned one is hopeless: it will not change by retrying. An expired
    /// certificate or an old protocol is the server's to fix while clients keep trying.
    public var isPermanentRefusal: Bool {
        if case .caMismatch = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .caMismatch(let got, let expected, let source):
            "server's certificate chain ends at CA \(got.map(\.description) ?? "(none)"), expected \(expected) (\(source))"
        case .expired(let notAfter, let now):
            "server's certificate expired at \(Self.format(notAfter)) (it is now \(Self.format(now)))"
        case .notYetValid(let notBefore, let now):
            "server's certificate is not valid until \(Self.format(notBefore)) (it is now \(Self.format(now)); check the clocks)"
        case .wrongName(let names, let host):
            "certificate is for \(names.isEmpty ? "no name" : names.joined(separator: ", ")), not \(host)"
        case .versionTooOld(let minimum):
            "server offers only TLS 1.2 or older; this client requires TLS \(minimum.rawValue) or newer"
        case .untrusted(let reason):
            "server's certificate does not verify against the pinned CA: \(reason)"
        case .noCertificate:
            "server sent no certificate"
        case .handshake(let reason):
            "TLS handshake failed: \(reason)"
        }
    }

    private static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }
}
