import Foundation
import Testing

/// `vigil reload` and `vigil tls rotate` find a server through its data-directory lock and send
/// SIGHUP. A server is findable from the moment it takes the lock, before its reload service runs.
@Suite("A SIGHUP while the server starts")
struct ServerHangUpEndToEndTests {
    @Test("a SIGHUP right after the server took its data-directory lock does not end it; it comes up and answers")
    func hangUpDuringStart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-hup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data")
        let ready = directory.appendingPathComponent("ready.json")
        let server = try Child(try Binaries.path("vigil"), [
            "server", "--data-dir", data.path, "--agent-port", "0", "--http-port", "0", "--ready-file", ready.path,
        ], name: "server", directory: directory)
        defer { server.stop() }
        // The lock file holds the server's pid once it holds the lock: signal it at once, as
        // `vigil reload` would (the server is still opening its store and making its CA then).
        let lock = data.appendingPathComponent("vigil.lock")
        let deadline = ContinuousClock.now + .seconds(30)
        while Int32(((try? String(contentsOf: lock, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) != server.pid {
            guard ContinuousClock.now < deadline, server.process.isRunning else { throw E2EError("the server never took its lock:\n\(server.output.suffix(2000))") }
            try await Task.sleep(for: .milliseconds(1))
        }
        if FileManager.default.fileExists(atPath: ready.path) {
            // A loaded machine may let the start finish first; the signal then reaches the reload service.
            print("note: the server was ready before the signal (the start window was missed on this run)")
        }
        server.signal(SIGHUP)
        let port = try await waitFor("the server to come up after the signal", timeout: .seconds(30)) { () -> Int? in
            guard server.process.isRunning else { throw E2EError("the server ended on SIGHUP during its start:\n\(server.output.suffix(2000))") }
            return (try? JSONSerialization.jsonObject(with: Data(contentsOf: ready)) as? [String: Int])?["http_port"]
        }
        let (_, status) = try await API(port: port).request("GET", "/api/health")
        #expect(status == 200)
    }
}
