import Foundation
import Testing

/// `vigil tls rotate` beside a running `vigil server`: a new certificate from the same CA, loaded on
/// the SIGHUP the command sends, served to new connections while open sessions carry on.
@Suite("TLS rotation with the real binaries", .serialized)
struct TLSRotationEndToEndTests {
    /// The serial number of the certificate the server presents on `port` now (openssl).
    private func serial(port: Int, ca: String) throws -> String {
        let (status, output) = try run("/bin/sh", ["-c", "openssl s_client -connect 127.0.0.1:\(port) -servername localhost -CAfile '\(ca)' -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -serial"])
        guard status == 0, output.hasPrefix("serial=") else { throw E2EError("cannot read the server's certificate on \(port): \(output)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("rotate: new connections get the new certificate (same CA, both ports), a live chat session keeps going")
    func rotateUnderLoad() async throws {
        let server = try await ToolServer.start()
        defer { server.stop() }
        let alice = try ChatProcess(server, name: "alice")
        defer { alice.stop() }
        try await alice.waitFor("connected to")
        let before = try self.serial(port: server.agentPort, ca: server.caFile)
        #expect(try self.serial(port: server.httpPort, ca: server.caFile) == before)

        let (status, output) = try run(server.vigil, ["tls", "rotate", "--data-dir", server.dataDirectory.path])
        #expect(status == 0, "\(output)")
        #expect(output.contains("told the running server (pid \(server.server.pid))"), "\(output)")
        _ = try await waitFor("the server to reload its certificates") {
            server.server.output.contains("TLS certificates reloaded") ? true : nil
        }
        let after = try self.serial(port: server.agentPort, ca: server.caFile)
        #expect(after != before)
        #expect(try self.serial(port: server.httpPort, ca: server.caFile) == after)

        // The session opened before the rotation still works both ways.
        let sent = try await server.vigil(["send", "--name", "bob", "--to", "alice", "after the rotation"])
        #expect(sent.status == 0, "\(sent.output)")
        try await alice.waitFor("after the rotation")
        #expect(!alice.output.contains("disconnected"), "\(alice.output)")
    }
}
