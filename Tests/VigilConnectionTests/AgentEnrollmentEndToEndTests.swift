import Foundation
import Testing
import VigilConnection

/// The built `vigil-agent` against TLS test servers: enrollment from a token, registration over
/// TLS with the CA pinned, and exit 77 when the server's CA is another.
@Suite("vigil-agent over TLS", .serialized)
struct AgentEnrollmentEndToEndTests {
    static let key = "vk_abcdefghijkl_" + String(repeating: "k", count: 43)

    @Test("an agent enrolled from a token registers over TLS; pointed at a server with another CA it exits 77 naming both fingerprints")
    func enrollThenRegister() async throws {
        let directory = try temporaryDirectory("vigil-enroll")
        defer { try? FileManager.default.removeItem(at: directory) }
        let ca = try TestCA()
        let server = try await TLSTestServer(configuration: try ca.serverConfiguration(try ca.issue()))
        defer { Task { await server.close() } }
        let token = EnrollmentToken(servers: [ServerAddress(host: "127.0.0.1", port: server.port)], key: Self.key,
                                    host: "enrolled-web1", caFingerprint: ca.fingerprint).encoded()
        let config = directory.appendingPathComponent("etc-vigil").path

        let enroll = try AgentProcess(["enroll", token, "--config-dir", config], log: directory.appendingPathComponent("enroll.log"))
        #expect(try await enroll.waitForExit() == 0, "\(enroll.output)")
        #expect(try Self.mode(config) == 0o700)
        #expect(try Self.mode(config + "/agent.json") == 0o600)
        #expect(try Self.mode(config + "/agent.key") == 0o600)
        let stored = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config + "/agent.json"))) as? [String: Any]
        #expect(stored?["ca_fingerprint"] as? String == ca.fingerprint.description)
        #expect(stored?["servers"] as? [String] == ["127.0.0.1:\(server.port)"])
        #expect(stored?["tls"] as? Bool == true)
        #expect(try String(contentsOfFile: config + "/agent.key", encoding: .utf8) == Self.key + "\n")

        let agent = try AgentProcess(["--config-dir", config, "--metrics-interval", "0"], log: directory.appendingPathComponent("agent.log"))
        #expect(try await eventually { server.registeredNames.contains("enrolled-web1") }, "\(agent.output)")
        agent.process.interrupt()
        #expect(try await agent.waitForExit() == 0, "\(agent.output)")

        // The same enrollment, pointed at a server whose certificates come from another CA.
        let other = try TestCA(commonName: "an impostor's CA")
        let impostor = try await TLSTestServer(configuration: try other.serverConfiguration(try other.issue()))
        defer { Task { await impostor.close() } }
        let refused = try AgentProcess(["--config-dir", config, "--metrics-interval", "0", "--server", "127.0.0.1:\(impostor.port)"],
                                       log: directory.appendingPathComponent("refused.log"))
        #expect(try await refused.waitForExit() == 77, "\(refused.output)")
        #expect(refused.output.contains("server's certificate chain ends at CA \(other.fingerprint), expected \(ca.fingerprint)"), "\(refused.output)")
        #expect(impostor.registeredNames.isEmpty)
    }

    @Test("vigil-agent --ca-fingerprint of another CA exits 77")
    func pinnedFlagMismatch() async throws {
        let directory = try temporaryDirectory("vigil-pin")
        defer { try? FileManager.default.removeItem(at: directory) }
        let ca = try TestCA()
        let other = try TestCA()
        let server = try await TLSTestServer(configuration: try other.serverConfiguration(try other.issue()))
        defer { Task { await server.close() } }
        let agent = try AgentProcess(["--server", "127.0.0.1:\(server.port)", "--ca-fingerprint", ca.fingerprint.description,
                                      "--key", Self.key, "--hostname", "pinned", "--metrics-interval", "0"],
                                     log: directory.appendingPathComponent("agent.log"))
        #expect(try await agent.waitForExit() == 77, "\(agent.output)")
        #expect(agent.output.contains("expected \(ca.fingerprint)") && agent.output.contains("ends at CA \(other.fingerprint)"), "\(agent.output)")
    }

    @Test("a malformed token: a clear error, exit 64, nothing written")
    func malformedToken() async throws {
        let directory = try temporaryDirectory("vigil-bad-token")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("conf").path
        let enroll = try AgentProcess(["enroll", "vigil1.not*base64", "--config-dir", config], log: directory.appendingPathComponent("enroll.log"))
        #expect(try await enroll.waitForExit() == 64)
        #expect(enroll.output.contains("invalid enrollment token: the enrollment token is damaged: the text after vigil1. is not base64url"), "\(enroll.output)")
        #expect(!FileManager.default.fileExists(atPath: config))
    }

    private static func mode(_ path: String) throws -> Int {
        ((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? NSNumber)?.intValue ?? -1
    }
}
