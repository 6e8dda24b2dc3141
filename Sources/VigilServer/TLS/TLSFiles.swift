import Foundation
import NIOCore
import SwiftASN1
import VigilConnection
import X509

/// Where the server's own CA and certificate live (`<data_dir>/tls/`), and how they are loaded,
/// made on first start, renewed, and replaced by `vigil tls rotate`.
///
/// | file | what |
/// | --- | --- |
/// | `ca.pem` | the CA certificate (give it to `--ca` users; tokens carry its fingerprint) |
/// | `ca-key.pem` | the CA's private key (0600) |
/// | `server.pem` | the server certificate, then the CA |
/// | `server-key.pem` | the server certificate's private key (0600) |
public struct TLSFiles: Sendable {
    public let directory: String

    public init(dataDirectory: String) {
        self.directory = dataDirectory + "/tls"
    }

    public var caCertificatePath: String { self.directory + "/ca.pem" }
    var caKeyPath: String { self.directory + "/ca-key.pem" }
    public var serverCertificatePath: String { self.directory + "/server.pem" }
    var serverKeyPath: String { self.directory + "/server-key.pem" }

    /// What the server presents, as the settings say: the operator's files, or the server's own CA
    /// and certificate (made when missing; the certificate reissued when it nears expiry or its
    /// names changed), or, without a data directory, a CA and certificate in memory.
    ///
    /// - Returns: The material and, when a certificate was issued, a line saying why (for the log).
    public static func load(settings: TLSSettings, names: [String], dataDirectory: String?, now: Date = Date()) throws -> (TLSMaterial, issued: String?) {
        if let certificateFile = settings.certificateFile, let keyFile = settings.privateKeyFile {
            return (try Self.loadOperatorFiles(certificate: certificateFile, key: keyFile, ca: settings.caFile), nil)
        }
        guard let dataDirectory else {
            let authority = try CertificateAuthority.create(commonName: "Vigil CA (in memory)", validity: settings.caValidity, now: now)
            let issued = try authority.issueServerCertificate(names: names, validity: settings.certificateValidity, now: now)
            return (TLSMaterial(chain: [issued.certificate, authority.certificate], privateKeyPEM: issued.privateKeyPEM, ca: authority.certificate, authority: authority), nil)
        }
        let files = TLSFiles(dataDirectory: dataDirectory)
        let authority = try files.loadOrCreateAuthority(settings: settings, now: now)
        if let current = try files.loadServerCertificate(authority: authority) {
            let reason = Self.reissueReason(current.chain[0], names: names, settings: settings, now: now)
            if reason == nil { return (current, nil) }
            return (try files.issueServerCertificate(authority: authority, names: names, settings: settings, now: now), reason)
        }
        return (try files.issueServerCertificate(authority: authority, names: names, settings: settings, now: now), "no server certificate yet")
    }

    /// Issues a new server certificate from the existing CA (`vigil tls rotate`).
    public func rotate(settings: TLSSettings, names: [String], now: Date = Date()) throws -> TLSMaterial {
        guard FileManager.default.fileExists(atPath: self.caCertificatePath) else {
            throw TLSSetupError("there is no CA in \(self.directory) yet: start the server once (or run `vigil keys create`) to make it")
        }
        let authority = try self.loadOrCreateAuthority(settings: settings, now: now)
        return try self.issueServerCertificate(authority: authority, names: names, settings: settings, now: now)
    }

    /// The CA, made on first use. Its key never leaves this directory.
    public func loadOrCreateAuthority(settings: TLSSettings, now: Date = Date()) throws -> CertificateAuthority {
        if FileManager.default.fileExists(atPath: self.caCertificatePath) {
            let certificate = try PrivateFile.read(self.caCertificatePath, what: "CA certificate", key: "tls")
            let key = try PrivateFile.read(self.caKeyPath, what: "CA private key", key: "tls")
            do {
                return try CertificateAuthority(certificatePEM: certificate, privateKeyPEM: key)
            } catch {
                throw TLSSetupError("the CA in \(self.directory) cannot be used (\(error)); move the directory aside to make a new CA (enrolled agents then need new tokens)")
            }
        }
        try PrivateFile.makeDirectory(self.directory)
        let host = ProcessInfo.processInfo.hostName
        let authority = try CertificateAuthority.create(commonName: "Vigil CA (\(host))", validity: settings.caValidity, now: now)
        // The key first: a crash between the two leaves no certificate without its key.
        try PrivateFile.replace(self.caKeyPath, with: authority.privateKeyPEM)
        try PrivateFile.replace(self.caCertificatePath, with: try authority.certificate.pemString)
        return authority
    }

    private func loadServerCertificate(authority: CertificateAuthority) throws -> TLSMaterial? {
        guard FileManager.default.fileExists(atPath: self.serverCertificatePath), FileManager.default.fileExists(atPath: self.serverKeyPath) else { return nil }
        let chain = try Self.certificates(in: PrivateFile.read(self.serverCertificatePath, what: "server certificate", key: "tls"), file: self.serverCertificatePath)
        let key = try PrivateFile.read(self.serverKeyPath, what: "server private key", key: "tls")
        // One the CA did not issue (the CA was replaced by hand): issue a new one.
        guard chain.count >= 1, chain[0].issuer == authority.certificate.subject, chain.last == authority.certificate else { return nil }
        return TLSMaterial(chain: chain, privateKeyPEM: key, ca: authority.certificate, authority: authority)
    }

    private func issueServerCertificate(authority: CertificateAuthority, names: [String], settings: TLSSettings, now: Date) throws -> TLSMaterial {
        let issued = try authority.issueServerCertificate(names: names, validity: settings.certificateValidity, now: now)
        try PrivateFile.replace(self.serverKeyPath, with: issued.privateKeyPEM)
        try PrivateFile.replace(self.serverCertificatePath, with: try issued.certificate.pemString + "\n" + authority.certificate.pemString + "\n")
        return TLSMaterial(chain: [issued.certificate, authority.certificate], privateKeyPEM: issued.privateKeyPEM, ca: authority.certificate, authority: authority)
    }

    /// Why a generated certificate must be reissued, or nil while it is fine.
    static func reissueReason(_ certificate: Certificate, names: [String], settings: TLSSettings, now: Date) -> String? {
        if certificate.notValidAfter.timeIntervalSince(now) < settings.renewBefore.seconds {
            return "the server certificate expires \(certificate.notValidAfter) (tls.renew_before \(settings.renewBefore.compactDescription))"
        }
        let present = Set(certificate.identityNames.map { $0.lowercased() })
        let wanted = Set(names.map { name in
            // Compare addresses in one spelling (`::1` and `0:0::1` are the same name).
            (try? SocketAddress(ipAddress: name, port: 0)).flatMap { $0.ipAddress } ?? name.lowercased()
        })
        if present != wanted {
            return "tls.names changed"
        }
        return nil
    }

    private static func loadOperatorFiles(certificate: String, key: String, ca: String?) throws -> TLSMaterial {
        var chain = try Self.certificates(in: PrivateFile.read(certificate, what: "certificate", key: "tls.certificate"), file: certificate)
        let keyPEM = try PrivateFile.read(key, what: "private key", key: "tls.private_key")
        let authority: Certificate
        if let ca {
            let caChain = try Self.certificates(in: PrivateFile.read(ca, what: "CA certificate", key: "tls.ca"), file: ca)
            authority = caChain[caChain.count - 1]
            // Send the CA too, so clients that pin its fingerprint find it in the chain.
            if !chain.contains(authority) { chain.append(authority) }
        } else {
            authority = chain[chain.count - 1]
        }
        return TLSMaterial(chain: chain, privateKeyPEM: keyPEM, ca: authority, authority: nil)
    }

    static func certificates(in pem: String, file: String) throws -> [Certificate] {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pem).filter { $0.discriminator == "CERTIFICATE" }
        } catch {
            throw TLSSetupError("\(file) is not PEM: \(error)")
        }
        guard !documents.isEmpty else { throw TLSSetupError("\(file) holds no CERTIFICATE block") }
        do {
            return try documents.map { try Certificate(pemDocument: $0) }
        } catch {
            throw TLSSetupError("\(file) holds a certificate that does not parse: \(error)")
        }
    }
}
