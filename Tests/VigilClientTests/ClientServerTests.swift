import Crypto
import Foundation
import Testing
import VigilClient
import VigilProtocol

/// The client against the real server, in this process: messages both ways, the mailbox of a
/// client that is away, refusals, keys, and a file stored and verified.
@Suite("Client against the real server")
struct ClientServerTests {
    /// Registers `name` and waits until the server has accepted it.
    static func connect(_ server: InProcessServer, _ name: String, key: String? = nil) async throws -> ClientHarness {
        let client = ClientHarness(ClientHarness.settings(port: server.agentPort, name: name, key: key))
        _ = try await client.first("\(name) registered") { if case .registered(let p) = $0 { p } else { nil } }
        return client
    }

    @Test("private and broadcast messages, acknowledged once stored; who is online")
    func privateAndBroadcast() async throws {
        try await InProcessServer.with { server in
            let alice = try await Self.connect(server, "alice")
            let bob = try await Self.connect(server, "bob")

            let hello = alice.connection.send("hello bob", to: "bob")
            let everyone = bob.connection.send("hello everyone", to: nil)
            let received = try await bob.first("bob's private message") { if case .message(let m) = $0 { m } else { nil } }
            #expect(received.sender == "alice" && received.messageID == hello.messageID && received.content == "hello bob" && received.recipient == "bob")
            #expect(received.seq == hello.seq)
            _ = try await alice.first("alice's ack") { if case .acknowledged(let m, false) = $0, m == hello { m } else { nil } }
            let broadcast = try await alice.first("the broadcast") { if case .message(let m) = $0, m.sender == "bob" { m } else { nil } }
            #expect(broadcast.messageID == everyone.messageID && broadcast.recipient == nil)
            _ = try await bob.first("bob's ack") { if case .acknowledged(let m, false) = $0, m == everyone { m } else { nil } }
            try await Task.sleep(for: .milliseconds(200))
            #expect(bob.messages().count == 1, "a sender does not get its own broadcast")

            alice.connection.listClients()
            let online = try await alice.first("the client list") { if case .clientList(let list) = $0 { list } else { nil } }
            #expect(Set(online.filter { $0.kind == .user }.map(\.clientID)) == ["alice", "bob"])
            #expect(try await alice.finish() == .left(unsent: 0))
            #expect(try await bob.finish() == .left(unsent: 0))
        }
    }

    @Test("a recipient that is away gets its messages in order when it comes back, once")
    func offlineRecipient() async throws {
        try await InProcessServer.with { server in
            let bob = try await Self.connect(server, "bob")
            #expect(try await bob.finish() == .left(unsent: 0))

            let alice = try await Self.connect(server, "alice")
            let sent = (1...5).map { alice.connection.send("message \($0)", to: "bob") }
            _ = try await alice.first("the last ack") { if case .acknowledged(let m, _) = $0, m == sent.last { m } else { nil } }

            let back = try await Self.connect(server, "bob")
            _ = try await back.first("the fifth message") { if case .message(let m) = $0, m.messageID == sent.last?.messageID { m } else { nil } }
            try await Task.sleep(for: .milliseconds(200))
            #expect(back.messages().map(\.content) == sent.map(\.content))
            #expect(try await back.finish() == .left(unsent: 0))

            // Everything was acknowledged: a third session gets nothing again.
            let again = try await Self.connect(server, "bob")
            try await Task.sleep(for: .milliseconds(300))
            #expect(again.messages().isEmpty)
            #expect(try await again.finish() == .left(unsent: 0))
            #expect(try await alice.finish() == .left(unsent: 0))
        }
    }

    @Test("an unknown recipient is refused clearly; a wrong key stops the client; a key names the client")
    func refusals() async throws {
        try await InProcessServer.with { server in
            let alice = try await Self.connect(server, "alice")
            let lost = alice.connection.send("anyone there?", to: "nobody-here")
            let refusal = try await alice.first("the refusal") { if case .messageRefused(let m, let code, _) = $0, m == lost { code } else { nil } }
            #expect(refusal == .unknownRecipient)
            #expect(try await alice.finish() == .left(unsent: 0))

            let key = try await server.key(for: "carol")
            let carol = try await Self.connect(server, "carol", key: key)
            #expect(try await carol.finish() == .left(unsent: 0))
            let impostor = ClientHarness(ClientHarness.settings(port: server.agentPort, name: "carol"))
            guard case .refused(let code, _) = try await impostor.exit() else { throw ScriptError("carol without her key was not refused") }
            #expect(code == .hostnameBoundToKey)
            let wrong = ClientHarness(ClientHarness.settings(port: server.agentPort, name: "dave", key: "vk_aaaaaaaaaaaa_" + String(repeating: "A", count: 43)))
            guard case .refused(let wrongCode, _) = try await wrong.exit() else { throw ScriptError("a wrong key was not refused") }
            #expect(wrongCode == .invalidKey)
        }
    }

    @Test("a file is stored under the sender's name with the right bytes; END counts it; a second run finds it stored")
    func storesAFile() async throws {
        try await InProcessServer.with { server in
            let (url, bytes) = try ClientFileTests.makeFile(size: 3 << 20, name: "notes.txt")
            defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
            let alice = try await Self.connect(server, "alice")
            let file = try await PreparedFile.prepare(path: url.path, sender: "alice", recipient: nil)
            let outcome = try await FileSender(connection: alice.connection).send(file)
            guard case .saved(let saved) = outcome else { throw ScriptError("not saved: \(outcome)") }
            #expect(saved.sha256 == ClientFileTests.hex(bytes) && saved.size == UInt64(bytes.count) && saved.filename == "notes.txt")
            let stored = try Data(contentsOf: URL(fileURLWithPath: server.settings.filesDirectory).appendingPathComponent("alice/notes.txt"))
            #expect(Array(stored) == bytes)
            let end = try await alice.connection.end()
            #expect(end.success)
            #expect(end.message.contains("1"))
            #expect(try await FileSender(connection: alice.connection).send(file).succeeded, "sent again: the server already has it")
            #expect(try await alice.finish() == .left(unsent: 0))
        }
    }

    @Test("a file over files.max_file_size is rejected before any byte")
    func tooLarge() async throws {
        try await InProcessServer.with({ $0.fileMaxSize = 1 << 20 }) { server in
            let (url, _) = try ClientFileTests.makeFile(size: (1 << 20) + 1)
            defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
            let alice = try await Self.connect(server, "alice")
            let file = try await PreparedFile.prepare(path: url.path, sender: "alice", recipient: nil)
            let outcome = try await FileSender(connection: alice.connection).send(file)
            guard case .rejected(let reject) = outcome else { throw ScriptError("not rejected: \(outcome)") }
            #expect(reject.code == .fileTooLarge)
            #expect(try await alice.finish() == .left(unsent: 0))
        }
    }
}
