import Foundation
import NIOSSL
import VigilConnection
import X509

/// What the server presents: its certificate chain (server certificate, then the CA), the private
/// key, and the CA whose fingerprint clients pin.
public struct TLSMaterial: Sendable {
    /// Server certificate first, then any intermediates and the CA, as sent in the handshake.
    public let chain: [Certificate]
    let privateKeyPEM: String
    /// The certificate clients trust (the last of the chain unless `tls.ca` names another).
    public let ca: Certificate
    /// The CA itself when the server made it (it can then issue new server certificates).
    let authority: CertificateAuthority?

    /// The pin for enrollment tokens and `--ca` users: `sha256:<hex>` of the CA's DER encoding.
    public var caFingerprint: CertificateFingerprint { CertificateFingerprint(self.ca) }

    public var serverCertificate: Certificate { self.chain[0] }

    /// The server certificate's DNS names and IP addresses, as text.
    public var serverNames: [String] { self.serverCertificate.identityNames }

    /// The CA as PEM, for `--ca` files and Chromium's trust.
    public var caPEM: String {
        get throws { try self.ca.pemString }
    }

    /// A NIOSSL server context for this material.
    ///
    /// - Parameter applicationProtocols: ALPN names to offer (`http/1.1` on the HTTP port; none for agents).
    func makeServerContext(minimumVersion: TLSVersionSetting, applicationProtocols: [String] = []) throws -> NIOSSLContext {
        let chain = try self.chain.map { try NIOSSLCertificate(bytes: Array($0.pemString.utf8), format: .pem) }
        let key = try NIOSSLPrivateKey(bytes: Array(self.privateKeyPEM.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = minimumVersion == .v1_3 ? .tlsv13 : .tlsv12
        configuration.applicationProtocols = applicationProtocols
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError("the certificate and private key cannot be used together: \(error)")
        }
    }
}
