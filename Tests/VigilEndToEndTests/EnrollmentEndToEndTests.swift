import Foundation
import Testing

/// One copy-paste joins a host: `vigil keys create` prints a token, `vigil-agent enroll` writes a
/// fresh configuration from it, and the agent registers over TLS with the server's CA pinned. The
/// same agent refuses a server with another CA (exit 77, both fingerprints named), and a revoked
/// key ends its session at once and for good.
@Suite("Enrollment tokens with the real binaries", .serialized)
struct EnrollmentEndToEndTests {
    private func token(_ server: ToolServer, host: String) throws -> String {
        let (status, output) = try run(server.vigil, ["keys", "create", "--host", host, "--data-dir", server.dataDirectory.path],
                                       environment: ["VIGIL_AGENTS_ADVERTISE": "127.0.0.1:\(server.agentPort)"])
        #expect(status == 0, "\(output)")
        let token = output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("vigil1."), "\(token)")
        return token
    }

    private func fingerprint(_ server: ToolServer) throws -> String {
        let (status, output) = try run(server.vigil, ["tls", "show", "--data-dir", server.dataDirectory.path])
        #expect(status == 0)
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("CA fingerprint:") })
        return String(line.split(separator: " ").last ?? "")
    }

    @Test("token → enroll on a fresh config directory → registered over TLS with the CA pinned; another CA → exit 77 naming both fingerprints")
    func enrollAndPin() async throws {
        let server = try await ToolServer.start(openEnrollment: false)
        defer { server.stop() }
        let config = server.directory.appendingPathComponent("agent-config")
        let agentBinary = try Binaries.path("vigil-agent")
        let token = try self.token(server, host: "web-enrolled")

        let (enrolled, enrollOutput) = try run(agentBinary, ["enroll", token, "--config-dir", config.path])
        #expect(enrolled == 0, "\(enrollOutput)")
        for file in ["agent.json", "agent.key"] {
            let mode = try FileManager.default.attributesOfItem(atPath: config.appendingPathComponent(file).path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file)")
        }
        let agent = try Child(agentBinary, ["--config-dir", config.path, "--metrics-interval", "0", "--log-level", "info"], name: "agent-enrolled", directory: server.directory)
        defer { agent.stop() }
        _ = try await waitFor("web-enrolled HEALTHY", timeout: .seconds(20)) { try await server.api.state(of: "web-enrolled") == "HEALTHY" ? true : nil }
        // Over TLS: the server's agent port takes nothing else here, and says so.
        _ = try await waitFor("the server to log the TLS registration") {
            server.server.output.contains("agent registered") && server.server.output.contains("transport=tls") ? true : nil
        }
        agent.stop()

        // The same configuration pointed at a server with its own, other CA.
        let other = try await ToolServer.start(openEnrollment: true)
        defer { other.stop() }
        let stranger = try Child(agentBinary, ["--config-dir", config.path, "--server", other.address, "--metrics-interval", "0"], name: "agent-stranger", directory: server.directory)
        defer { stranger.stop() }
        let status = try await stranger.waitForExit(timeout: .seconds(20))
        #expect(status == 77, "\(stranger.output)")
        let expected = try self.fingerprint(server)
        let got = try self.fingerprint(other)
        #expect(expected != got)
        #expect(stranger.output.contains(expected), "\(stranger.output)")
        #expect(stranger.output.contains(got), "\(stranger.output)")
    }

    @Test("a malformed token: a clear error, exit 64, nothing written")
    func malformedToken() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-enroll-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (status, output) = try runCapturingSync(try Binaries.path("vigil-agent"), ["enroll", "vigil1.not-base64!", "--config-dir", directory.path])
        #expect(status == 64, "\(output)")
        #expect(output.lowercased().contains("base64"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("agent.json").path))
    }

    @Test("a token whose key was revoked: the running agent is closed within 1 s and exits 77; enrolling it again cannot register")
    func revokedToken() async throws {
        let server = try await ToolServer.start(openEnrollment: false)
        defer { server.stop() }
        let config = server.directory.appendingPathComponent("agent-config")
        let agentBinary = try Binaries.path("vigil-agent")
        let token = try self.token(server, host: "web-revoked")
        let agent = try Child(agentBinary, ["--token", token, "--config-dir", config.path, "--metrics-interval", "0", "--log-level", "info"], name: "agent-revoked", directory: server.directory)
        defer { agent.stop() }
        _ = try await waitFor("web-revoked HEALTHY", timeout: .seconds(20)) { try await server.api.state(of: "web-revoked") == "HEALTHY" ? true : nil }

        let (listed, keys) = try run(server.vigil, ["keys", "list", "--json", "--data-dir", server.dataDirectory.path])
        #expect(listed == 0)
        let id = try #require((try JSONSerialization.jsonObject(with: Data(keys.utf8)) as? [[String: Any]])?.first { $0["hostname"] as? String == "web-revoked" }?["id"] as? String)
        let revokedAt = ContinuousClock.now
        let (revoked, _) = try run(server.vigil, ["keys", "revoke", id, "--data-dir", server.dataDirectory.path])
        #expect(revoked == 0)
        let status = try await agent.waitForExit(timeout: .seconds(10))
        #expect(status == 77, "\(agent.output)")
        #expect(ContinuousClock.now - revokedAt < .seconds(2))  // the watcher's 0.5 s, plus process start-up
        #expect(agent.output.contains("revoked"), "\(agent.output)")

        // The same configuration again: refused at registration, for good.
        let again = try Child(agentBinary, ["--config-dir", config.path, "--metrics-interval", "0"], name: "agent-revoked-again", directory: server.directory)
        defer { again.stop() }
        #expect(try await again.waitForExit(timeout: .seconds(20)) == 77, "\(again.output)")
        #expect(again.output.contains("revoked_key") || again.output.contains("revoked"), "\(again.output)")
    }
}
