import Foundation
import Testing

/// docs/PROTOCOL.md promises a stranger can write a client from it alone. Its example client is
/// run here, as printed in the document, against the real server: the document cannot drift.
@Suite("docs/PROTOCOL.md")
struct ProtocolDocumentTests {
    static let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("the document's Python client registers, heartbeats and unregisters", .enabled(if: Self.python != nil, "python3 is not installed"))
    func documentedClient() async throws {
        let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/PROTOCOL.md")
        let text = try String(contentsOf: document, encoding: .utf8)
        let start = try #require(text.range(of: "```python\n"), "PROTOCOL.md has no python block")
        let end = try #require(text.range(of: "\n```", range: start.upperBound..<text.endIndex))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-doc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let client = directory.appendingPathComponent("client.py")
        try String(text[start.upperBound..<end.lowerBound]).write(to: client, atomically: true, encoding: .utf8)

        let vigil = try Binaries.path("vigil")
        let data = directory.appendingPathComponent("data").path
        let (created, key) = try run(vigil, ["keys", "create", "--key-only", "--host", "pyclient", "--data-dir", data])
        #expect(created == 0)
        let ready = directory.appendingPathComponent("ready.json")
        let server = try Child(vigil, ["server", "--data-dir", data, "--agent-port", "0", "--http-port", "0", "--heartbeat-interval", "1s", "--ready-file", ready.path], name: "server", directory: directory)
        defer { server.stop() }
        let agentPort = try await waitFor("the ready file") { () -> Int? in
            (try JSONSerialization.jsonObject(with: Data(contentsOf: ready)) as? [String: Int])?["agent_port"]
        }
        let python = try Child(Self.python!, [client.path, "127.0.0.1:\(agentPort)"], name: "client", directory: directory,
                               environment: ["VIGIL_AGENT_KEY": key.trimmingCharacters(in: .whitespacesAndNewlines)])
        defer { python.stop() }
        #expect(try await python.waitForExit(timeout: .seconds(30)) == 0, "client output:\n\(python.output)")
        #expect(python.output.contains("registered as pyclient"))
        #expect(python.output.contains("ack seq=3"))
        #expect(python.output.contains("goodbye"))
    }
}
