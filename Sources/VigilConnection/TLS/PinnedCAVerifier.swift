#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import X509

/// Decides whether a server's certificate chain is acceptable under a ``TLSTrust``: the chain must
/// contain the pinned CA (or, with a CA file, verify against it), the leaf must be valid now and name
/// the dialed host, and the whole must verify with swift-certificates' `Verifier` (RFC 5280 rules and
/// the server's identity). The cheap checks run first so each refusal gets a precise reason.
public enum PinnedCAVerifier {
    /// - Parameters:
    ///   - chain: The DER certificates the server sent, leaf first.
    ///   - host: The host that was dialed: a DNS name or an IP address literal.
    /// - Returns: `nil` when the chain is acceptable, otherwise why not.
    public static func verify(chain: [[UInt8]], trust: TLSTrust, host: String, now: Date = Date()) async -> TLSFailure? {
        guard !chain.isEmpty else { return .noCertificate }
        let certificates: [Certificate]
        do {
            certificates = try chain.map { try Certificate(derEncoded: $0) }
        } catch {
            return .handshake("the server's certificate cannot be read: \(error)")
        }
        let fingerprints = chain.map { CertificateFingerprint(derEncoded: $0) }
        let mismatch = TLSFailure.caMismatch(got: fingerprints.last, expected: trust.pin, pinSource: trust.pinSource)
        let ca: Certificate
        if let index = fingerprints.firstIndex(of: trust.pin) {
            ca = certificates[index]
        } else if let file = trust.caCertificate {
            // The server did not send the CA; it may still have been issued by it (checked below).
            ca = file
        } else {
            return mismatch
        }
        let leaf = certificates[0]
        if leaf.notValidBefore > now { return .notYetValid(notBefore: leaf.notValidBefore, now: now) }
        if leaf.notValidAfter < now { return .expired(notAfter: leaf.notValidAfter, now: now) }
        let address = IPAddressText.bytes(host)
        if !Self.names(leaf, match: host, address: address) {
            return .wrongName(names: leaf.identityNames, host: host)
        }
        let intermediates = certificates.dropFirst().filter { $0 != ca }
        var verifier = Verifier(rootCertificates: CertificateStore([ca])) {
            RFC5280Policy(validationTime: now)
            ServerIdentityPolicy(serverHostname: address == nil ? host : nil, serverIP: address == nil ? nil : host)
        }
        switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(Array(intermediates))) {
        case .validCertificate:
            return nil
        case .couldNotValidate(let failures):
            // With only a CA file and a chain that does not carry it: not issued by our CA.
            if !fingerprints.contains(trust.pin) { return mismatch }
            let reasons = Set(failures.map { $0.policyFailureReason.description }).sorted()
            return .untrusted(reasons.isEmpty ? "no chain to the CA" : reasons.joined(separator: "; "))
        }
    }

    /// Whether the leaf's subject alternative names hold the dialed host (a DNS name, exact or under
    /// a one-label wildcard, or the same IP address bytes).
    static func names(_ leaf: Certificate, match host: String, address: [UInt8]?) -> Bool {
        guard let names = try? leaf.extensions.subjectAlternativeNames else { return false }
        let wanted = Self.normalized(host)
        for name in names {
            switch name {
            case .ipAddress(let octets):
                if let address, Array(octets.bytes) == address { return true }
            case .dnsName(let dns) where address == nil:
                let pattern = Self.normalized(dns)
                if pattern == wanted { return true }
                if pattern.hasPrefix("*."), let dot = wanted.firstIndex(of: "."),
                   wanted[wanted.index(after: dot)...] == pattern.dropFirst(2), wanted[..<dot].isEmpty == false {
                    return true
                }
            default:
                continue
            }
        }
        return false
    }

    private static func normalized(_ name: String) -> String {
        var name = name.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }
}
