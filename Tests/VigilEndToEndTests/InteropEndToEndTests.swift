import Foundation
import Testing

/// Interoperability: a client that speaks only the JSON envelope, written in Python from
/// docs/PROTOCOL.md alone (`interop_chat_client.py`), chats with the real `vigil chat` through the
/// real `vigil server`, both ways, privately and by broadcast.
@Suite("Interop: an envelope-only Python client and vigil chat", .serialized)
struct InteropEndToEndTests {
    @Test("private and broadcast messages both ways, exact, once; heartbeats; a clean goodbye; mail kept for a later session")
    func chatBothWays() async throws {
        let server = try await ToolServer.start(plaintextFromLoopback: true)  // the Python clients speak plaintext
        defer { server.stop() }
        let alice = try ChatProcess(server, name: "alice")
        defer { alice.stop() }
        try await alice.waitFor("connected to \(server.address) as alice")

        let bob = try InteropClient(server, name: "bob")
        defer { bob.stop() }
        let registered = try await bob.waitFor("its registration") { $0.event == "registered" }
        #expect(registered.clientID == "bob")
        #expect(registered.heartbeatInterval == 1, "the server runs with --heartbeat-interval 1s")

        // Each sees the other online.
        bob.type("who")
        let list = try await bob.waitFor("a CLIENT_LIST") { $0.event == "clients" }
        let online = (list.clients ?? []).map { "\($0.clientID):\($0.kind)" }
        #expect(online == ["alice:user", "bob:user"], "sorted by client_id, bob included: \(online)")
        alice.type("who")
        let who = try await alice.waitFor("online (")
        #expect(who.contains("alice (you)") && who.contains("bob"), "\(who)")

        // alice → bob, private (non-ASCII on purpose: the content must arrive byte for byte).
        let toBob = "hello bob, it's alice: private — ünïcödé, 日本語, \"quotes\" and a \\ backslash"
        alice.type("send @bob \(toBob)")
        try await alice.waitFor("✓ to bob: \(toBob)")
        let privateToBob = try await bob.waitFor("alice's private message") { $0.event == "message" && $0.content == toBob }
        #expect(privateToBob.senderID == "alice")
        #expect(privateToBob.recipient == "bob")
        #expect(privateToBob.kind == nil)
        #expect(privateToBob.seq != nil, "vigil chat gives each message a seq")
        try await bob.waitFor("bob's MESSAGE_ACK of it") { $0.event == "ack_sent" && $0.messageID == privateToBob.messageID }

        // bob → alice, private.
        let toAlice = "hi alice, bob here (private, from Python)"
        bob.type("send @alice \(toAlice)")
        let sentToAlice = try await bob.waitFor("bob's CLIENT_MESSAGE to alice") { $0.event == "sent" && $0.content == toAlice }
        let storedToAlice = try await bob.waitFor("the MESSAGE_ACK of bob's private message") { $0.event == "acked" && $0.messageID == sentToAlice.messageID }
        #expect(storedToAlice.status == "stored")
        try await alice.waitFor("bob → you: \(toAlice)")

        // alice → everyone.
        let fromAlice = "good morning everyone, alice speaking"
        alice.type("send \(fromAlice)")
        try await alice.waitFor("✓ to everyone: \(fromAlice)")
        let broadcastToBob = try await bob.waitFor("alice's broadcast") { $0.event == "message" && $0.content == fromAlice }
        #expect(broadcastToBob.senderID == "alice")
        #expect(broadcastToBob.recipient == nil, "a broadcast has no recipient")
        if let first = privateToBob.seq, let second = broadcastToBob.seq {
            #expect(second > first, "vigil chat's seq goes up")
        }

        // bob → everyone.
        let fromBob = "good morning all, bob speaking (broadcast)"
        bob.type("send \(fromBob)")
        let sentBroadcast = try await bob.waitFor("bob's broadcast") { $0.event == "sent" && $0.content == fromBob }
        let storedBroadcast = try await bob.waitFor("the MESSAGE_ACK of bob's broadcast") { $0.event == "acked" && $0.messageID == sentBroadcast.messageID }
        #expect(storedBroadcast.status == "stored")
        try await alice.waitFor("bob: \(fromBob)")

        // A quiet spell: heartbeats keep going, and nothing may arrive twice. Then bob leaves.
        bob.type("quiet 2.5")
        bob.type("expect 2")
        bob.type("quit")
        let status = try await bob.finish()
        #expect(status == 0, "the Python client: \(bob.diagnostics)")
        let events = bob.events
        let goodbye = try #require(events.first { $0.event == "goodbye" }, "\(bob.diagnostics)")
        #expect(goodbye.success == true && goodbye.fatal == true && goodbye.code == nil, "CLIENT_UNREGISTER is answered with the goodbye")
        #expect(events.last?.event == "closed", "the server closes after the goodbye")
        #expect(!events.contains { $0.event == "error" })

        let received = events.filter { $0.event == "message" }
        #expect(received.map(\.content) == [toBob, fromAlice], "bob got exactly alice's two messages, once each, in order: \(bob.diagnostics)")
        #expect(received.allSatisfy { $0.senderID == "alice" && $0.isRepeat == false })
        #expect(Set(received.compactMap(\.messageID)).count == 2)
        let acksSent = events.filter { $0.event == "ack_sent" }.compactMap(\.messageID)
        #expect(acksSent == received.compactMap(\.messageID), "bob acknowledged each delivery once")
        let acked = events.filter { $0.event == "acked" }
        #expect(acked.map(\.messageID) == [sentToAlice.messageID, sentBroadcast.messageID], "one MESSAGE_ACK per message bob sent")
        let sent = events.filter { $0.event == "sent" }
        #expect(sent.map(\.seq) == [1, 2])
        let beats = events.filter { $0.event == "heartbeat_ack" }.compactMap(\.seq)
        #expect(beats.count >= 3, "heartbeats at the server's 1 s interval over a session of 3 s and more: \(beats)")
        #expect(beats == Array(1...max(1, beats.count)), "every heartbeat acknowledged, in order")

        // On alice's side: each of bob's messages shown once, with bob as the sender.
        #expect(alice.lines.filter { $0.contains(toAlice) }.map { $0.hasSuffix("bob → you: \(toAlice)") } == [true], "\(alice.output)")
        #expect(alice.lines.filter { $0.contains(fromBob) }.map { $0.hasSuffix("bob: \(fromBob)") } == [true], "\(alice.output)")
        #expect(alice.count(toBob) == 1 && alice.count(fromAlice) == 1, "alice's own messages confirmed once each: \(alice.output)")

        // bob is away: alice's next message waits for him. His next session gets that one only:
        // what he acknowledged before is not delivered again.
        let whileAway = "while you were away, bob"
        alice.type("send @bob \(whileAway)")
        try await alice.waitFor("✓ to bob: \(whileAway)")
        let back = try InteropClient(server, name: "bob")
        defer { back.stop() }
        back.type("expect 1")
        back.type("quiet 1.5")
        back.type("quit")
        #expect(try await back.finish() == 0, "the Python client, second session: \(back.diagnostics)")
        let mail = back.events.filter { $0.event == "message" }
        #expect(mail.map(\.content) == [whileAway], "\(back.diagnostics)")
        #expect(mail.first?.senderID == "alice" && mail.first?.recipient == "bob")
        #expect(back.events.contains { $0.event == "goodbye" && $0.success == true })

        alice.type("quit")
        #expect(try await alice.finish() == 0, "\(alice.output)")
    }

    @Test("with keys: the Python client registers with a key bound to its name; without one it is refused (exit 77)")
    func withKeys() async throws {
        let server = try await ToolServer.start(openEnrollment: false, plaintextFromLoopback: true)
        defer { server.stop() }
        let aliceKey = server.directory.appendingPathComponent("alice.key")
        try Data(try server.key(for: "alice").utf8).write(to: aliceKey)
        let bobKey = try server.key(for: "bob")

        // Without a key, open enrollment off: key_required, and the client says so by its exit status.
        let refused = try InteropClient(server, name: "bob")
        defer { refused.stop() }
        #expect(try await refused.finish() == 77, "\(refused.diagnostics)")
        #expect(refused.events.last?.event == "error")
        #expect(refused.events.last?.code == "key_required", "\(refused.diagnostics)")

        let alice = try ChatProcess(server, name: "alice", extraArguments: ["--key-file", aliceKey.path])
        defer { alice.stop() }
        try await alice.waitFor("connected to \(server.address) as alice")
        let bob = try InteropClient(server, name: "bob", key: bobKey)
        defer { bob.stop() }
        let registered = try await bob.waitFor("its registration") { $0.event == "registered" }
        #expect(registered.clientID == "bob", "the key's host")

        bob.type("send @alice keyed hello from bob")
        try await alice.waitFor("bob → you: keyed hello from bob")
        alice.type("send @bob keyed hello from alice")
        let message = try await bob.waitFor("alice's message") { $0.event == "message" }
        #expect(message.content == "keyed hello from alice" && message.senderID == "alice" && message.recipient == "bob")
        bob.type("quit")
        #expect(try await bob.finish() == 0, "\(bob.diagnostics)")
        #expect(bob.events.contains { $0.event == "goodbye" && $0.success == true && $0.fatal == true })
        alice.type("quit")
        #expect(try await alice.finish() == 0, "\(alice.output)")
    }
}

extension InteropEndToEndTests {
    @Test("version 0: the original envelope-only client (empty register payload, sender_id, no heartbeats) chats with vigil chat both ways, privately and by broadcast")
    func legacyClient() async throws {
        let server = try await ToolServer.start(plaintextFromLoopback: true)  // the Python clients speak plaintext
        defer { server.stop() }
        let alice = try ChatProcess(server, name: "alice")
        defer { alice.stop() }
        try await alice.waitFor("connected to \(server.address) as alice")
        let bob = try InteropClient(server, name: "bob", legacy: true)
        defer { bob.stop() }
        let registered = try await bob.waitFor("its registration") { $0.event == "registered" }
        #expect(registered.clientID == "bob")

        alice.type("send @bob hello old friend")
        let privateToBob = try await bob.waitFor("alice's private message") { $0.event == "message" && $0.content == "hello old friend" }
        #expect(privateToBob.senderID == "alice" && privateToBob.recipient == "bob")
        bob.type("send @alice hi alice, from version 0")
        try await alice.waitFor("bob → you: hi alice, from version 0")
        bob.type("send hello everyone, from version 0")
        try await alice.waitFor("bob: hello everyone, from version 0")
        alice.type("send good night all")
        let broadcast = try await bob.waitFor("alice's broadcast") { $0.event == "message" && $0.content == "good night all" }
        #expect(broadcast.recipient == nil)
        // A quiet spell without heartbeats: nothing arrives twice, and the goodbye still works.
        bob.type("quiet 1.5")
        bob.type("quit")
        #expect(try await bob.finish() == 0, "the Python client: \(bob.diagnostics)")
        let events = bob.events
        #expect(events.filter { $0.event == "message" }.map(\.content) == ["hello old friend", "good night all"], "\(bob.diagnostics)")
        #expect(events.filter { $0.event == "acked" }.map(\.status) == ["stored", "stored"])
        #expect(!events.contains { $0.event == "heartbeat_ack" }, "a version-0 client sends no heartbeats")
        #expect(events.contains { $0.event == "goodbye" && $0.success == true })
        alice.type("quit")
        #expect(try await alice.finish() == 0, "\(alice.output)")
    }
}

/// `interop_chat_client.py` as a child process: commands in on standard input, one JSON event per
/// line out on standard output (see the script's docstring).
final class InteropClient: @unchecked Sendable {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("interop_chat_client.py")

    /// One line of the client's standard output. Only the fields these tests look at.
    struct Event: Decodable, Sendable {
        struct Client: Decodable, Sendable {
            var clientID: String
            var kind: String
            enum CodingKeys: String, CodingKey { case clientID = "client_id", kind }
        }

        var event: String
        var clientID: String?
        var heartbeatInterval: Double?
        var clients: [Client]?
        var senderID: String?
        var messageID: String?
        var content: String?
        var recipient: String?
        var seq: Int?
        var kind: String?
        var isRepeat: Bool?
        var status: String?
        var success: Bool?
        var fatal: Bool?
        var code: String?
        var response: Response?

        struct Response: Decodable, Sendable { var code: String? }

        enum CodingKeys: String, CodingKey {
            case event, clients, content, recipient, seq, kind, status, success, fatal, code, response
            case clientID = "client_id", heartbeatInterval = "heartbeat_interval", senderID = "sender_id"
            case messageID = "message_id", isRepeat = "repeat"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.event = try container.decode(String.self, forKey: .event)
            self.clientID = try container.decodeIfPresent(String.self, forKey: .clientID)
            self.heartbeatInterval = try container.decodeIfPresent(Double.self, forKey: .heartbeatInterval)
            self.clients = try container.decodeIfPresent([Client].self, forKey: .clients)
            self.senderID = try container.decodeIfPresent(String.self, forKey: .senderID)
            self.messageID = try container.decodeIfPresent(String.self, forKey: .messageID)
            self.content = try container.decodeIfPresent(String.self, forKey: .content)
            self.recipient = try container.decodeIfPresent(String.self, forKey: .recipient)
            self.seq = try container.decodeIfPresent(Int.self, forKey: .seq)
            self.kind = try container.decodeIfPresent(String.self, forKey: .kind)
            self.isRepeat = try container.decodeIfPresent(Bool.self, forKey: .isRepeat)
            // "status" is the MESSAGE_ACK status on "acked", the exit status (a number) on "error".
            self.status = try? container.decodeIfPresent(String.self, forKey: .status)
            self.success = try container.decodeIfPresent(Bool.self, forKey: .success)
            self.fatal = try container.decodeIfPresent(Bool.self, forKey: .fatal)
            self.response = try container.decodeIfPresent(Response.self, forKey: .response)
            // The refusal code: on "goodbye"/"refused" it is top level, on "error" inside "response".
            self.code = try container.decodeIfPresent(String.self, forKey: .code) ?? self.response?.code
        }
    }

    let process = Process()
    let name: String
    let stdoutLog: URL
    let stderrLog: URL
    private let input = Pipe()

    /// - Parameters:
    ///   - key: passed as `VIGIL_KEY`; `nil`: no key (open enrollment).
    ///   - legacy: register as the original envelope-only client (protocol version 0: empty payload, no heartbeats).
    init(_ server: ToolServer, name: String, key: String? = nil, legacy: Bool = false) throws {
        signal(SIGPIPE, SIG_IGN)  // writing to a client that has exited must not kill the test runner
        self.name = name
        let tag = "interop-\(name)-\(UUID().uuidString.prefix(6))"
        self.stdoutLog = server.directory.appendingPathComponent("\(tag).jsonl")
        self.stderrLog = server.directory.appendingPathComponent("\(tag).err")
        _ = FileManager.default.createFile(atPath: self.stdoutLog.path, contents: nil)
        _ = FileManager.default.createFile(atPath: self.stderrLog.path, contents: nil)
        self.process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        self.process.arguments = ["python3", Self.script.path, "--server", server.address, "--name", name, "--timeout", "10"] + (legacy ? ["--legacy"] : [])
        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_KEY"] = key
        environment["PYTHONUNBUFFERED"] = "1"
        self.process.environment = environment
        self.process.standardInput = self.input
        self.process.standardOutput = try FileHandle(forWritingTo: self.stdoutLog)
        self.process.standardError = try FileHandle(forWritingTo: self.stderrLog)
        try self.process.run()
    }

    var output: String { (try? String(contentsOf: self.stdoutLog, encoding: .utf8)) ?? "" }
    var errors: String { (try? String(contentsOf: self.stderrLog, encoding: .utf8)) ?? "" }
    var diagnostics: String { "standard output:\n\(self.output)\nstandard error:\n\(self.errors)" }

    /// Every complete event printed so far (a line still being written is left out).
    var events: [Event] {
        let decoder = JSONDecoder()
        return self.output.split(separator: "\n", omittingEmptySubsequences: true).compactMap {
            try? decoder.decode(Event.self, from: Data($0.utf8))
        }
    }

    /// Writes a command line. A client that has already exited is not an error here (the test's
    /// next wait reports it with the client's output), so EPIPE is ignored rather than fatal.
    func type(_ line: String) {
        try? self.input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Waits for the first event that matches; fails at once if the client has exited without it.
    @discardableResult
    func waitFor(_ what: String, timeout: Duration = .seconds(10), _ matches: (Event) -> Bool) async throws -> Event {
        let deadline = ContinuousClock.now + timeout
        while true {
            let running = self.process.isRunning
            if let event = self.events.first(where: matches) { return event }
            if !running {
                throw E2EError("the Python client \(self.name) exited (\(self.process.terminationStatus)) before \(what); \(self.diagnostics)")
            }
            guard ContinuousClock.now < deadline else {
                throw E2EError("timed out after \(timeout) waiting for \(what) from the Python client \(self.name); \(self.diagnostics)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Closes standard input (the same as `quit`) and waits for the exit status.
    func finish(timeout: Duration = .seconds(20)) async throws -> Int32 {
        try? self.input.fileHandleForWriting.close()
        let deadline = ContinuousClock.now + timeout
        while self.process.isRunning {
            guard ContinuousClock.now < deadline else { throw E2EError("the Python client \(self.name) did not exit; \(self.diagnostics)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return self.process.terminationStatus
    }

    func stop() {
        try? self.input.fileHandleForWriting.close()
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGKILL)
            self.process.waitUntilExit()
        }
    }
}
