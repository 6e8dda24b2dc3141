import Foundation
import Testing
import VigilConnection

/// `vigil send` and `vigil send-file` with `--ca` and `--token`: TLS pinned to the CA, a server
/// with another CA refused (exit 77, both fingerprints named), a malformed token a usage error.
@Suite("People's tools over TLS", .serialized)
struct PeopleToolsTLSTests {
    @Test("vigil send --ca with another CA's server exits 77 naming both fingerprints")
    func sendWithWrongCA() async throws {
        let directory = try temporaryDirectory("vigil-send-ca")
        defer { try? FileManager.default.removeItem(at: directory) }
        let ca = try TestCA()
        let other = try TestCA(commonName: "another CA")
        let caFile = directory.appendingPathComponent("ca.pem")
        try Data(try ca.pem.utf8).write(to: caFile)
        let server = try await TLSTestServer(configuration: try other.serverConfiguration(try other.issue()))
        defer { Task { await server.close() } }
        let send = try AgentProcess(["send", "--server", "127.0.0.1:\(server.port)", "--ca", caFile.path, "--name", "alice", "--timeout", "10", "hello"],
                                    log: directory.appendingPathComponent("send.log"), executable: "vigil")
        #expect(try await send.waitForExit() == 77, "\(send.output)")
        #expect(send.output.contains("server's certificate chain ends at CA \(other.fingerprint), expected \(ca.fingerprint) (from \(caFile.path))"), "\(send.output)")
        #expect(server.registeredNames.isEmpty)
    }

    @Test("vigil send-file --token with another CA's server exits 77; the token gives the server address")
    func sendFileWithWrongToken() async throws {
        let directory = try temporaryDirectory("vigil-send-file-token")
        defer { try? FileManager.default.removeItem(at: directory) }
        let ca = try TestCA()
        let other = try TestCA(commonName: "another CA")
        let server = try await TLSTestServer(configuration: try other.serverConfiguration(try other.issue()))
        defer { Task { await server.close() } }
        let token = EnrollmentToken(servers: [ServerAddress(host: "127.0.0.1", port: server.port)], key: "vk_abcdefghijkl_" + String(repeating: "k", count: 43),
                                    host: nil, caFingerprint: ca.fingerprint).encoded()
        let file = directory.appendingPathComponent("report.txt")
        try Data("report".utf8).write(to: file)
        let send = try AgentProcess(["send-file", "--token", token, "--name", "alice", "--timeout", "10", file.path],
                                    log: directory.appendingPathComponent("send-file.log"), executable: "vigil")
        #expect(try await send.waitForExit() == 77, "\(send.output)")
        #expect(send.output.contains("ends at CA \(other.fingerprint), expected \(ca.fingerprint) (from the enrollment token)"), "\(send.output)")
    }

    @Test("vigil send --token with the right CA registers over TLS")
    func sendRegistersWithToken() async throws {
        let directory = try temporaryDirectory("vigil-send-token")
        defer { try? FileManager.default.removeItem(at: directory) }
        let ca = try TestCA()
        let server = try await TLSTestServer(configuration: try ca.serverConfiguration(try ca.issue()))
        defer { Task { await server.close() } }
        let token = EnrollmentToken(servers: [ServerAddress(host: "127.0.0.1", port: server.port)], key: "vk_abcdefghijkl_" + String(repeating: "k", count: 43),
                                    host: nil, caFingerprint: ca.fingerprint).encoded()
        // The test server registers but never stores messages: the send waits, registered.
        let send = try AgentProcess(["send", "--token", token, "--name", "alice", "--timeout", "30", "hello"],
                                    log: directory.appendingPathComponent("send.log"), executable: "vigil")
        defer { send.stop() }
        #expect(try await eventually { server.registeredNames.contains("alice") }, "\(send.output)")
    }

    @Test("a malformed --token is a usage error")
    func malformedToken() async throws {
        let directory = try temporaryDirectory("vigil-send-bad-token")
        defer { try? FileManager.default.removeItem(at: directory) }
        let send = try AgentProcess(["send", "--token", "vigil1.@@", "--name", "alice", "hello"],
                                    log: directory.appendingPathComponent("send.log"), executable: "vigil")
        #expect(try await send.waitForExit() == 64, "\(send.output)")
        #expect(send.output.contains("invalid --token: the enrollment token is damaged"), "\(send.output)")
    }
}
