import Crypto
import Foundation
import NIOCore
import SwiftASN1
import X509

/// The server's own CA (P-256): it signs the server certificate, and its SHA-256 fingerprint is
/// what enrollment tokens pin, so an agent needs no certificate file at all.
///
/// The CA is made once (on first start, or by the first `vigil keys create`) and kept in the data
/// directory; only server certificates are ever reissued from it (`vigil tls rotate`, and shortly
/// before expiry), so tokens already handed out stay valid.
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    let privateKey: P256.Signing.PrivateKey

    init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// A new self-signed CA named after the server.
    public static func create(commonName: String, validity: Duration, now: Date = Date()) throws -> CertificateAuthority {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Vigil")
            CommonName(commonName)
        }
        let publicKey = Certificate.PublicKey(key.publicKey)
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(hash: publicKey)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey,
            // A little in the past: a client whose clock is slightly behind still accepts it.
            notValidBefore: now - 300, notValidAfter: now + validity.seconds,
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions, issuerPrivateKey: .init(key)
        )
        return CertificateAuthority(certificate: certificate, privateKey: key)
    }

    /// A server certificate for `names` (DNS names and IP addresses, as subject alternative names).
    public func issueServerCertificate(names: [String], validity: Duration, now: Date = Date()) throws -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let alternativeNames = names.map(Self.generalName)
        let subject = try DistinguishedName {
            OrganizationName("Vigil")
            CommonName(names.first ?? "vigil")
        }
        let caKeyIdentifier = try self.certificate.extensions.subjectKeyIdentifier?.keyIdentifier
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(alternativeNames)
            SubjectKeyIdentifier(hash: publicKey)
            AuthorityKeyIdentifier(keyIdentifier: caKeyIdentifier)
        }
        let notAfter = min(now + validity.seconds, self.certificate.notValidAfter)
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey,
            notValidBefore: now - 300, notValidAfter: notAfter,
            issuer: self.certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions, issuerPrivateKey: .init(self.privateKey)
        )
        return IssuedCertificate(certificate: certificate, privateKeyPEM: key.pemRepresentation)
    }

    /// An IP address literal becomes an `iPAddress` name (what clients compare an IP against), anything else a DNS name.
    static func generalName(_ name: String) -> GeneralName {
        if let address = try? SocketAddress(ipAddress: name, port: 0), let bytes = CIDRBlock.addressBytes(address, unmapping: false) {
            return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))
        }
        return .dnsName(name)
    }

    public var privateKeyPEM: String { self.privateKey.pemRepresentation }

    init(certificatePEM: String, privateKeyPEM: String) throws {
        self.certificate = try Certificate(pemEncoded: certificatePEM)
        self.privateKey = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        guard self.certificate.publicKey == Certificate.PublicKey(self.privateKey.publicKey) else {
            throw TLSSetupError("the CA's private key does not belong to its certificate")
        }
    }
}

/// A certificate just issued and its private key.
public struct IssuedCertificate: Sendable {
    public let certificate: Certificate
    public let privateKeyPEM: String
}

extension Certificate {
    /// PEM text, for files and for clients that want the CA itself (`--ca`).
    public var pemString: String {
        get throws { try self.serializeAsPEM().pemString }
    }
}
