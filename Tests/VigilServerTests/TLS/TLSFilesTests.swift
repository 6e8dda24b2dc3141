import Foundation
import Testing
import VigilConnection
import X509
@testable import VigilServer
import VigilStore

/// The server's own CA and certificate: made on first start, kept private, reused, renewed and
/// rotated from the same CA; or the operator's files instead.
@Suite("TLS certificates and files")
struct TLSFilesTests {
    private func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-tls-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    private func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test("first start makes a P-256 CA and a server certificate with the names as SANs; keys 0600, directory 0700")
    func firstStart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-tls-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let names = ["vigil.example", "localhost", "127.0.0.1", "::1"]
            let (material, issued) = try TLSFiles.load(settings: TLSSettings(), names: names, dataDirectory: directory)
            #expect(issued != nil)
            let files = TLSFiles(dataDirectory: directory)
            for path in [files.caCertificatePath, files.serverCertificatePath, files.directory + "/ca-key.pem", files.directory + "/server-key.pem"] {
                #expect(FileManager.default.fileExists(atPath: path), "\(path)")
                #expect(try self.mode(path) == 0o600, "\(path)")
            }
            #expect(try self.mode(files.directory) == 0o700)
            #expect(material.ca.publicKey.description.contains("P256"))
            let sans = try #require(try material.serverCertificate.extensions.subjectAlternativeNames)
            #expect(sans.count == 4)
            #expect(sans.contains(.dnsName("vigil.example")))
            #expect(try material.serverCertificate.extensions.basicConstraints == .notCertificateAuthority)
            #expect(try material.ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
            #expect(material.chain.count == 2 && material.chain[1] == material.ca)
            #expect(material.caFingerprint.description.hasPrefix("sha256:") && material.caFingerprint.description.count == 7 + 64)
            // The chain verifies against the CA.
            var verifier = Verifier(rootCertificates: CertificateStore([material.ca])) { RFC5280Policy(validationTime: Date()) }
            let result = await verifier.validate(leafCertificate: material.serverCertificate, intermediates: CertificateStore())
            guard case .validCertificate = result else {
                Issue.record("the server certificate does not verify against its CA: \(result)")
                return
            }
        }
    }

    @Test("a second start reuses the CA and the certificate; changed names reissue from the same CA")
    func reuseAndNames() throws {
        try self.withDirectory { directory in
            let (first, _) = try TLSFiles.load(settings: TLSSettings(), names: ["a.example"], dataDirectory: directory)
            let (second, issued) = try TLSFiles.load(settings: TLSSettings(), names: ["a.example"], dataDirectory: directory)
            #expect(issued == nil)
            #expect(second.serverCertificate == first.serverCertificate)
            let (third, reason) = try TLSFiles.load(settings: TLSSettings(), names: ["a.example", "b.example"], dataDirectory: directory)
            #expect(reason == "tls.names changed")
            #expect(third.serverCertificate != first.serverCertificate)
            #expect(third.caFingerprint == first.caFingerprint)
        }
    }

    @Test("a certificate within tls.renew_before of expiry is reissued at start; rotate issues a new one from the same CA")
    func renewAndRotate() throws {
        try self.withDirectory { directory in
            var settings = TLSSettings()
            settings.certificateValidity = .seconds(10 * 86_400)
            settings.renewBefore = .seconds(5 * 86_400)
            let (first, _) = try TLSFiles.load(settings: settings, names: ["a.example"], dataDirectory: directory)
            let (same, _) = try TLSFiles.load(settings: settings, names: ["a.example"], dataDirectory: directory, now: Date() + 4 * 86_400)
            #expect(same.serverCertificate == first.serverCertificate)
            let (renewed, reason) = try TLSFiles.load(settings: settings, names: ["a.example"], dataDirectory: directory, now: Date() + 6 * 86_400)
            #expect(reason?.contains("expires") == true)
            #expect(renewed.serverCertificate != first.serverCertificate)
            let rotated = try TLSFiles(dataDirectory: directory).rotate(settings: settings, names: ["a.example"])
            #expect(rotated.serverCertificate.serialNumber != renewed.serverCertificate.serialNumber)
            #expect(rotated.caFingerprint == first.caFingerprint)
            let (loaded, _) = try TLSFiles.load(settings: settings, names: ["a.example"], dataDirectory: directory)
            #expect(loaded.serverCertificate == rotated.serverCertificate)
        }
    }

    @Test("rotate without a CA says how to make one")
    func rotateWithoutCA() throws {
        try self.withDirectory { directory in
            #expect(throws: TLSSetupError.self) { try TLSFiles(dataDirectory: directory).rotate(settings: TLSSettings(), names: ["x"]) }
        }
    }

    @Test("the operator's files: the chain, the key, and tls.ca's fingerprint as the pin; a key of another certificate is refused")
    func operatorFiles() throws {
        try self.withDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let ca = try CertificateAuthority.create(commonName: "corp CA", validity: .seconds(400 * 86_400))
            let issued = try ca.issueServerCertificate(names: ["vigil.corp"], validity: .seconds(90 * 86_400))
            try issued.certificate.pemString.write(toFile: directory + "/cert.pem", atomically: true, encoding: .utf8)
            try issued.privateKeyPEM.write(toFile: directory + "/key.pem", atomically: true, encoding: .utf8)
            try ca.certificate.pemString.write(toFile: directory + "/ca.pem", atomically: true, encoding: .utf8)
            var settings = TLSSettings()
            settings.certificateFile = directory + "/cert.pem"
            settings.privateKeyFile = directory + "/key.pem"
            settings.caFile = directory + "/ca.pem"
            let (material, issuedNow) = try TLSFiles.load(settings: settings, names: ["ignored"], dataDirectory: directory)
            #expect(issuedNow == nil)
            #expect(material.caFingerprint == CertificateFingerprint(ca.certificate))
            #expect(material.chain == [issued.certificate, ca.certificate])
            _ = try material.makeServerContext(minimumVersion: .v1_3)
            // Nothing generated beside the operator's files.
            #expect(!FileManager.default.fileExists(atPath: directory + "/tls"))

            let stranger = try ca.issueServerCertificate(names: ["other"], validity: .seconds(86_400))
            try stranger.privateKeyPEM.write(toFile: directory + "/key.pem", atomically: true, encoding: .utf8)
            let (mismatched, _) = try TLSFiles.load(settings: settings, names: [], dataDirectory: directory)
            #expect(throws: TLSSetupError.self) { _ = try mismatched.makeServerContext(minimumVersion: .v1_3) }
        }
    }

    @Test("settings: certificate and key together; tls.ca only with them; a bad tls.min_version names the key")
    func settingsValidation() async throws {
        var settings = TLSSettings()
        settings.certificateFile = "/x.pem"
        #expect(throws: ConfigurationError.self) { try settings.validate() }
        settings = TLSSettings()
        settings.caFile = "/ca.pem"
        #expect(throws: ConfigurationError.self) { try settings.validate() }
        do {
            _ = try await ServerSettings.load(environment: ["VIGIL_TLS_MIN_VERSION": "1.1"])
            Issue.record("1.1 accepted")
        } catch {
            #expect("\(error)".contains("tls.min_version"))
        }
        let loaded = try await ServerSettings.load(environment: [
            "VIGIL_TLS_NAMES": "a.example, 10.0.0.5", "VIGIL_AGENTS_PLAINTEXT": "10.0.0.0/8,fd00::/8", "VIGIL_HTTP_PLAINTEXT": "never",
        ])
        #expect(loaded.tls.names == ["a.example", "10.0.0.5"])
        #expect(loaded.tlsNames == ["a.example", "10.0.0.5"])
        #expect(loaded.agentPlaintext == PlaintextPolicy(parsing: "10.0.0.0/8,fd00::/8"))
        #expect(loaded.httpPlaintext == .never)
    }

    @Test("the data directory check covers the TLS private keys")
    func dataDirectoryCoversKeys() throws {
        try self.withDirectory { directory in
            _ = try TLSFiles.load(settings: TLSSettings(), names: ["x"], dataDirectory: directory)
            try DataDirectory.prepare(URL(fileURLWithPath: directory))
            chmod(directory + "/tls/server-key.pem", 0o644)
            #expect(throws: DataDirectoryError.self) { try DataDirectory.prepare(URL(fileURLWithPath: directory)) }
        }
    }
}
