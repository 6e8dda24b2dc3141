import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import VigilConnection
import X509

/// A throwaway CA (P-256) that issues server certificates for the TLS tests, as the server's own
/// CA would, with the dates and names each test needs.
struct TestCA {
    let key: P256.Signing.PrivateKey
    let name: DistinguishedName
    let certificate: Certificate
    /// The CA's DER bytes and their fingerprint (the pin).
    let der: [UInt8]
    let fingerprint: CertificateFingerprint

    init(commonName: String = "Vigil test CA") throws {
        self.key = P256.Signing.PrivateKey()
        self.name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        self.certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: .init(self.key.publicKey),
            notValidBefore: now - 86_400, notValidAfter: now + 10 * 86_400,
            issuer: self.name, subject: self.name,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(self.key)
        )
        self.der = try Self.der(self.certificate)
        self.fingerprint = CertificateFingerprint(derEncoded: self.der)
    }

    var pem: String { get throws { try self.certificate.serializeAsPEM().pemString } }

    /// A server certificate and its key.
    struct Leaf {
        let key: P256.Signing.PrivateKey
        let certificate: Certificate
    }

    /// Issues a server certificate for `dnsNames` and `ipAddresses`, valid from `notBefore` to `notAfter`.
    func issue(
        dnsNames: [String] = ["localhost"], ipAddresses: [[UInt8]] = [[127, 0, 0, 1]],
        notBefore: Date = Date() - 3600, notAfter: Date = Date() + 86_400
    ) throws -> Leaf {
        let key = P256.Signing.PrivateKey()
        let names = dnsNames.map { GeneralName.dnsName($0) } + ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: $0[...])) }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: self.name, subject: try DistinguishedName { CommonName(dnsNames.first ?? "server") },
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(self.key)
        )
        return Leaf(key: key, certificate: certificate)
    }

    /// A NIOSSL server configuration that sends leaf + CA, as a Vigil server does.
    func serverConfiguration(_ leaf: Leaf, maximumVersion: TLSVersion? = nil) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [
                .certificate(try NIOSSLCertificate(bytes: try Self.der(leaf.certificate), format: .der)),
                .certificate(try NIOSSLCertificate(bytes: self.der, format: .der)),
            ],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(leaf.key.derRepresentation), format: .der))
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = maximumVersion
        return configuration
    }

    static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }
}
