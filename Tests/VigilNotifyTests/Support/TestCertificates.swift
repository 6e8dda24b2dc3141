import Crypto
import Foundation
import SwiftASN1
import X509

/// A throwaway CA and a server certificate for `localhost` and 127.0.0.1, written as PEM files for
/// the Python SMTP server (certificate chain and key) and for the channel's `ca_file`.
struct TestCertificates {
    let caFile: URL
    let certificateFile: URL
    let keyFile: URL

    init(in directory: URL) throws {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("Vigil notify test CA") }
        let now = Date()
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: caName, subject: caName,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey)
        )
        let key = P256.Signing.PrivateKey()
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: caName,
            subject: try DistinguishedName { CommonName("localhost") },
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            },
            issuerPrivateKey: .init(caKey)
        )
        self.caFile = directory.appendingPathComponent("ca.pem")
        self.certificateFile = directory.appendingPathComponent("server.pem")
        self.keyFile = directory.appendingPathComponent("server-key.pem")
        try writePrivate(try ca.serializeAsPEM().pemString + "\n", to: self.caFile)
        try writePrivate(try leaf.serializeAsPEM().pemString + "\n" + ca.serializeAsPEM().pemString + "\n", to: self.certificateFile)
        try writePrivate(key.pemRepresentation + "\n", to: self.keyFile)
    }
}
