import Foundation
import Testing

/// docs/PROTOCOL.md §12.1's messaging client, run as printed against the real server: two people
/// chat through it, one of them offline at first (so the document cannot drift from the server).
@Suite("docs/PROTOCOL.md messaging client")
struct MessagingDocumentTests {
    @Test("the document's Python chat client sends, receives offline mail and acknowledges", .enabled(if: ProtocolDocumentTests.python != nil, "python3 is not installed"))
    func documentedChatClient() async throws {
        let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/PROTOCOL.md")
        let text = try String(contentsOf: document, encoding: .utf8)
        let section = try #require(text.range(of: "### 12.1 A messaging client"), "PROTOCOL.md has no §12.1")
        let start = try #require(text.range(of: "```python\n", range: section.upperBound..<text.endIndex), "§12.1 has no python block")
        let end = try #require(text.range(of: "\n```", range: start.upperBound..<text.endIndex))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-doc-chat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let client = directory.appendingPathComponent("chat.py")
        try String(text[start.upperBound..<end.lowerBound]).write(to: client, atomically: true, encoding: .utf8)

        let vigil = try Binaries.path("vigil")
        let ready = directory.appendingPathComponent("ready.json")
        let server = try Child(vigil, [
            "server", "--data-dir", directory.appendingPathComponent("data").path, "--agent-port", "0", "--http-port", "0",
            "--heartbeat-interval", "1s", "--open-enrollment", "--ready-file", ready.path,
        ], name: "server", directory: directory)
        defer { server.stop() }
        let port = try await waitFor("the ready file") { () -> Int? in
            (try JSONSerialization.jsonObject(with: Data(contentsOf: ready)) as? [String: Int])?["agent_port"]
        }
        func chat(_ arguments: [String], name: String) throws -> Child {
            try Child(ProtocolDocumentTests.python!, [client.path, "127.0.0.1:\(port)"] + arguments, name: name, directory: directory)
        }

        // bob registers once (so he is known), then leaves.
        let bobFirst = try chat(["bob"], name: "bob-1")
        _ = try await waitFor("bob registered", timeout: .seconds(15)) { bobFirst.output.contains("registered as bob") ? true : nil }
        bobFirst.stop()
        // alice writes to him while he is away, and to a name nobody has.
        let alice = try chat(["alice", "bob", "hello from alice"], name: "alice")
        defer { alice.stop() }
        _ = try await waitFor("alice's message stored", timeout: .seconds(15)) { alice.output.contains("sent (stored)") ? true : nil }
        let stranger = try chat(["carol", "nobody", "anyone?"], name: "carol")
        defer { stranger.stop() }
        _ = try await waitFor("carol refused", timeout: .seconds(15)) { stranger.output.contains("refused: unknown_recipient") ? true : nil }

        // bob returns and gets it; then a broadcast from carol (a second connection: it supersedes
        // the first) reaches both, live.
        let bob = try chat(["bob"], name: "bob-2")
        defer { bob.stop() }
        _ = try await waitFor("bob got alice's message", timeout: .seconds(15)) { bob.output.contains("[private] alice: hello from alice") ? true : nil }
        let broadcaster = try chat(["carol", "-", "hi all"], name: "carol-2")
        defer { broadcaster.stop() }
        _ = try await waitFor("the broadcast at bob and alice", timeout: .seconds(15)) { () -> Bool? in
            bob.output.contains("[all] carol: hi all") && alice.output.contains("[all] carol: hi all") ? true : nil
        }
        #expect(bob.output.components(separatedBy: "hello from alice").count == 2, "delivered once:\n\(bob.output)")
    }
}
