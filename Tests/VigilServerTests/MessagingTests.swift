import Foundation
import Synchronization
import Testing
import VigilProtocol
@testable import VigilStore
@testable import VigilServer

/// Messaging over real TCP against a real server: delivery, durability, dedupe, refusals, presence,
/// flow control and notices. "Nothing else arrived" is shown with a sentinel: a later message
/// must be the next frame, since delivery follows the store's order.
@Suite("Messaging over TCP", .serialized, .timeLimit(.minutes(2)))
struct MessagingTests {
    // MARK: Delivery

    @Test("a private message reaches its recipient with the original sender_id, message_id, content and seq; the sender gets MESSAGE_ACK stored")
    func privateDelivery() async throws {
        try await withMessagingServer { server in
            let alice = try await RawPeer.join(server, as: "alice")
            let bob = try await RawPeer.join(server, as: "bob")
            let carol = try await RawPeer.join(server, as: "carol")

            let before = Date().timeIntervalSince1970
            let id = try await alice.say("hello bob ✓", to: "bob", seq: 7)
            try await alice.expectAck(id)
            let received = try await bob.expectMessage()
            #expect(received.sender == "alice")
            #expect(received.messageID == id)
            #expect(received.content == "hello bob ✓")
            #expect(received.payload.recipient == "bob")
            #expect(received.payload.seq == 7)
            #expect(received.payload.kind == nil)
            let storedAt = try #require(received.payload.storedAt)
            #expect(storedAt >= before - 1 && storedAt <= Date().timeIntervalSince1970 + 1)

            // carol was not sent it: her next message is a later one.
            let sentinel = try await bob.say("sentinel", to: "carol")
            try await bob.expectAck(sentinel)
            #expect(try await carol.expectMessage().messageID == sentinel)
            await alice.close(); await bob.close(); await carol.close()
        }
    }

    @Test("a broadcast reaches every other client, users and agents, once; not its sender")
    func broadcast() async throws {
        try await withMessagingServer { server in
            let alice = try await RawPeer.join(server, as: "alice")
            let bob = try await RawPeer.join(server, as: "bob")
            let carol = try await RawPeer.join(server, as: "carol")
            let agent = try await RawPeer.join(server, as: "web-1", kind: .agent, key: try await server.key(for: "web-1"))

            let id = try await alice.say("all hands", to: nil)
            try await alice.expectAck(id)
            for peer in [bob, carol, agent] {
                let received = try await peer.expectMessage()
                #expect(received.sender == "alice")
                #expect(received.messageID == id)
                #expect(received.content == "all hands")
                #expect(received.payload.recipient == nil)
            }
            // alice did not get her own broadcast: the next frame she reads is bob's reply.
            let reply = try await bob.say("hi alice", to: "alice")
            try await bob.expectAck(reply)
            #expect(try await alice.expectMessage().messageID == reply)
            for peer in [alice, bob, carol, agent] { await peer.close() }
        }
    }

    @Test("messages from one sender arrive in the order sent, also while the recipient's backlog is being replayed")
    func orderDuringReplay() async throws {
        try await withMessagingServer { server in
            let alice = try await RawPeer.join(server, as: "alice")
            var bob = try await RawPeer.join(server, as: "bob")
            await bob.close()
            let backlog = 300
            var ids: [String] = []
            for i in 1...backlog { ids.append(try await alice.say("m\(i)", to: "bob", seq: UInt64(i))) }
            for id in ids { try await alice.expectAck(id) }
            // bob comes back while alice goes on sending: the live ones must not overtake or duplicate the backlog.
            bob = try await RawPeer.join(server, as: "bob")
            let more = 200
            for i in (backlog + 1)...(backlog + more) { ids.append(try await alice.say("m\(i)", to: "bob", seq: UInt64(i))) }
            let contents = try await bob.receiveAll(backlog + more)
            #expect(contents == (1...(backlog + more)).map { "m\($0)" })
            await alice.close(); await bob.close()
        }
    }

    // MARK: Durability

    @Test("an offline recipient gets its messages in order when it returns, once; not again after it acknowledged them and reconnected")
    func offlineDelivery() async throws {
        try await withMessagingServer { server in
            let alice = try await RawPeer.join(server, as: "alice")
            var bob = try await RawPeer.join(server, as: "bob")
            await bob.close()
            try await eventually(timeout: .seconds(5), "bob offline") { server.server.messages.directory.entry(for: "bob") == nil }

            var ids: [String] = []
            for text in ["one", "two", "three"] {
                let id = try await alice.say(text, to: "bob")
                try await alice.expectAck(id)
                ids.append(id)
            }
            bob = try await RawPeer.join(server, as: "bob")
            var received: [RawPeer.Received] = []
            for _ in 0..<3 { received.append(try await bob.expectMessage()) }
            #expect(received.map(\.content) == ["one", "two", "three"])
            #expect(received.map(\.messageID) == ids)
            #expect(received.allSatisfy { $0.sender == "alice" })
            for id in ids { try await bob.acknowledge(id) }
            let last = try #require(try await server.store.conversation(ConversationQuery(client: "bob", limit: 1)).first?.id)
            try await eventually(timeout: .seconds(5), "bob's acknowledgements recorded") {
                server.server.messages.cursors.cursor(of: "bob") ?? 0 >= last
            }
            await bob.close()
            // Leaving writes the cursor past the three to the store, where a restart would read it.
            try await eventually(timeout: .seconds(5), "bob's cursor in the store") {
                try await server.store.mailbox(clientID: "bob")?.deliveredThrough ?? 0 >= last
            }

            bob = try await RawPeer.join(server, as: "bob")
            let sentinel = try await alice.say("four", to: "bob")
            try await alice.expectAck(sentinel)
            let next = try await bob.expectMessage()
            #expect(next.content == "four", "the acknowledged messages were delivered again")
            await alice.close(); await bob.close()
        }
    }

    @Test("messages sent and not acknowledged by the recipient are sent again on its next connection")
    func unacknowledgedAreRedelivered() async throws {
        try await withMessagingServer { server in
            let alice = try await RawPeer.join(server, as: "alice")
            var bob = try await RawPeer.join(server, as: "bob")
            let first = try await alice.say("first", to: "bob")
            let second = try await alice.say("second", to: "bob")
            try await alice.expectAck(first)
            try await alice.expectAck(second)
            #expect(try await bob.expectMessage().messageID == first)
            #expect(try await bob.expectMessage().messageID == second)
            try await bob.acknowledge(first)  // only the first
            try await eventually(timeout: .seconds(5), "bob's cursor past the first") {
                server.server.messages.cursors.cursor(of: "bob") != nil
            }
            await bob.close()
            bob = try await RawPeer.join(server, as: "bob")
            let again = try await bob.expectMessage()
            #expect(again.messageID == second)
            #expect(again.content == "second")
            await alice.close(); await bob.close()
        }
    }

    @Test("a message resent with the same message_id after a forced disconnect is acknowledged duplicate and delivered once")
    func resendIsNotDuplicated() async throws {
        try await withMessagingServer { server in
            let bob = try await RawPeer.join(server, as: "bob")
            var alice = try await RawPeer.join(server, as: "alice")
            let id = UUID().uuidString.lowercased()
            // alice sends and is cut off before she reads the acknowledgement.
            try await alice.say("only once", to: "bob", id: id, seq: 1)
            await alice.close()
            try await eventually(timeout: .seconds(5), "the message stored") {
                try await server.store.conversation(ConversationQuery(client: "alice", limit: 10)).contains { $0.messageID == id }
            }
            alice = try await RawPeer.join(server, as: "alice")
            try await alice.say("only once", to: "bob", id: id, seq: 1)
            try await alice.expectAck(id, MessageAckPayload.duplicate)

            let received = try await bob.expectMessage()
            #expect(received.messageID == id)
            let sentinel = try await alice.say("after", to: "bob")
            try await alice.expectAck(sentinel)
            #expect(try await bob.expectMessage().messageID == sentinel, "the resend was delivered a second time")
            #expect(try await server.store.conversation(ConversationQuery(client: "alice", limit: 10)).filter { $0.messageID == id }.count == 1)
            await alice.close(); await bob.close()
        }
    }

    @Test("a server restart keeps undelivered mail and the cursors of acknowledged mail")
    func restartKeepsMail() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var ids: [String] = []
        try await withMessagingServer(directory: directory, keepingFiles: true) { server in
            let alice = try await RawPeer.join(server, as: "alice")
            let bob = try await RawPeer.join(server, as: "bob")
            let seen = try await alice.say("seen before the restart", to: "bob")
            try await alice.expectAck(seen)
            #expect(try await bob.expectMessage().messageID == seen)
            try await bob.acknowledge(seen)
            try await eventually(timeout: .seconds(5), "bob's acknowledgement recorded") { server.server.messages.cursors.cursor(of: "bob") != nil }
            await bob.close()
            for text in ["kept 1", "kept 2"] {
                let id = try await alice.say(text, to: "bob")
                try await alice.expectAck(id)
                ids.append(id)
            }
            await alice.close()
        }
        try await withMessagingServer(directory: directory) { server in
            let bob = try await RawPeer.join(server, as: "bob")
            let received = [try await bob.expectMessage(), try await bob.expectMessage()]
            #expect(received.map(\.messageID) == ids, "not the two undelivered ones, in order (or the acknowledged one again)")
            #expect(received.map(\.content) == ["kept 1", "kept 2"])
            // bob is known to the new server at once, and alice's messages keep their sender.
            #expect(received.allSatisfy { $0.sender == "alice" })
            let alice = try await RawPeer.join(server, as: "alice")
            let after = try await alice.say("after restart", to: "bob")
            try await alice.expectAck(after)
            #expect(try await bob.expectMessage().messageID == after)
            await alice.close(); await bob.close()
        }
    }

    @Test("stopping the server writes every message it accepted before the store closes, acknowledged or not yet")
    func shutdownWritesAccepted() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await TestServer.messaging(directory: directory)
        let alice = try await RawPeer.join(server, as: "alice")
        _ = try await RawPeer.join(server, as: "bob")
        try await eventually(timeout: .seconds(5), "bob known") { try await server.store.isKnown("bob") }
        // Hold the store so that the messages are accepted (queued) but not yet written, then stop.
        let gate = StoreGate()
        let blocker = Task { try await server.store.pool.write { _ in gate.hold() } }
        try await eventually(timeout: .seconds(5), "the store held") { gate.isHolding }
        var ids: [String] = []
        for i in 1...5 { ids.append(try await alice.say("m\(i)", to: "bob")) }
        // Frames on a connection are handled in order: once LIST_CLIENTS is answered, all five were taken.
        #expect(try await alice.listClients().map(\.clientID) == ["alice", "bob"])
        let stopping = Task { await server.stop(keepingFiles: true) }
        gate.release()
        try await blocker.value
        await stopping.value

        let store = try SQLiteStore(directory: directory)
        let stored = try await store.conversation(ConversationQuery(client: "alice", limit: 10))
        #expect(stored.reversed().map(\.messageID) == ids)
    }

    // MARK: Refusals

    @Test("a message to a client that never registered gets unknown_recipient, nothing stored, and is not a protocol error")
    func unknownRecipient() async throws {
        // Any counted protocol error would close the connection.
        try await withMessagingServer({ $0.maxProtocolErrors = 0 }) { server in
            let alice = try await RawPeer.join(server, as: "alice")
            let id = try await alice.say("anyone there?", to: "nobody")
            let refusal = try await alice.expectRefusal(.unknownRecipient, inReplyTo: id)
            #expect(refusal?.message.contains("nobody") == true)
            let toServer = try await alice.say("hi server", to: "server")
            _ = try await alice.expectRefusal(.unknownRecipient, inReplyTo: toServer)
            #expect(try await server.store.conversation(ConversationQuery(limit: 10)).isEmpty)
            #expect(server.logs.contains("unknown recipient"))
            // Still open, still working.
            let bob = try await RawPeer.join(server, as: "bob")
            let ok = try await alice.say("hi bob", to: "bob")
            try await alice.expectAck(ok)
            #expect(try await bob.expectMessage().messageID == ok)
            await alice.close(); await bob.close()
        }
    }

    @Test("empty or oversized content, no message_id and an empty recipient get invalid_message; the limit counts UTF-8 bytes; none is a protocol error")
    func invalidMessages() async throws {
        try await withMessagingServer({ $0.maxProtocolErrors = 0; $0.messageMaxContentBytes = 16 }) { server in
            let alice = try await RawPeer.join(server, as: "alice")
            let bob = try await RawPeer.join(server, as: "bob")

            let empty = try await alice.say("", to: "bob")
            #expect(try await alice.expectRefusal(.invalidMessage, inReplyTo: empty)?.message.contains("empty") == true)
            let long = try await alice.say(String(repeating: "x", count: 17), to: "bob")
            #expect(try await alice.expectRefusal(.invalidMessage, inReplyTo: long)?.message.contains("max_content_bytes") == true)
            let wide = try await alice.say(String(repeating: "é", count: 9), to: "bob")  // 9 characters, 18 bytes
            _ = try await alice.expectRefusal(.invalidMessage, inReplyTo: wide)
            let nowhere = try await alice.say("to whom?", to: "")
            _ = try await alice.expectRefusal(.invalidMessage, inReplyTo: nowhere)
            try await alice.send(Envelope(.clientMessage(ClientMessagePayload(content: "no id", recipient: "bob"))))
            #expect(try await alice.expectRefusal(.invalidMessage, inReplyTo: nil)?.message.contains("message_id is required") == true)
            try await alice.send(Envelope(.clientMessage(ClientMessagePayload(content: "long id", recipient: "bob")), messageID: String(repeating: "i", count: 129)))
            #expect(try await alice.expectRefusal(.invalidMessage, inReplyTo: nil)?.message.contains("longer than 128 bytes") == true)
            #expect(server.logs.contains("message refused"))

            // Exactly at the limit is fine; nothing refused reached bob.
            let exact = try await alice.say(String(repeating: "y", count: 16), to: "bob")
            try await alice.expectAck(exact)
            let received = try await bob.expectMessage()
            #expect(received.messageID == exact)
            #expect(received.content.utf8.count == 16)
            await alice.close(); await bob.close()
        }
    }

    @Test("a client sending faster than messages.rate_limit gets rate_limited for the excess, not stored, connection kept")
    func rateLimit() async throws {
        try await withMessagingServer({ $0.maxProtocolErrors = 0; $0.messageRateLimit = 0.001; $0.messageRateBurst = 3 }) { server in
            let alice = try await RawPeer.join(server, as: "alice")
            _ = try await RawPeer.join(server, as: "bob")
            var ids: [String] = []
            for i in 1...5 { ids.append(try await alice.say("m\(i)", to: "bob")) }
            // The refusals are answered at once, the acknowledgements after the write: read all five.
            var acked: Set<String> = []
            var limited: Set<String> = []
            for _ in 1...5 {
                let envelope = try await alice.frame()
                switch envelope.body {
                case .messageAck(let ack): acked.insert(ack.ackedMessageID)
                case .serverResponse(let response):
                    #expect(response.code == .rateLimited)
                    #expect(!response.fatal)
                    if let id = response.inReplyTo { limited.insert(id) }
                default: Issue.record("unexpected \(envelope)")
                }
            }
            #expect(acked == Set(ids.prefix(3)))
            #expect(limited == Set(ids.suffix(2)))
            #expect(try await server.store.conversation(ConversationQuery(limit: 10)).count == 3)
            // Reconnecting does not refill the bucket.
            await alice.close()
            let again = try await RawPeer.join(server, as: "alice")
            let id = try await again.say("m6", to: "bob")
            _ = try await again.expectRefusal(.rateLimited, inReplyTo: id)
            await again.close()
        }
    }

    @Test("past messages.max_pending waiting to be stored, a message gets server_busy at once, and so do later ones until it is sent again; the earlier ones are stored when the store frees up, the resent ones in order")
    func serverBusy() async throws {
        try await withMessagingServer({ $0.maxProtocolErrors = 0; $0.messageMaxPending = 1 }) { server in
            let alice = try await RawPeer.join(server, as: "alice")
            _ = try await RawPeer.join(server, as: "bob")
            try await eventually(timeout: .seconds(5), "both mailboxes stored") {
                let aliceKnown = try await server.store.isKnown("alice"), bobKnown = try await server.store.isKnown("bob")
                return aliceKnown && bobKnown
            }
            // Hold the store's writer: the message writer's next transaction waits behind it, so at
            // most one message is being written and one waits; a third is over messages.max_pending.
            let gate = StoreGate()
            let blocker = Task { try await server.store.pool.write { _ in gate.hold() } }
            try await eventually(timeout: .seconds(5), "the store held") { gate.isHolding }
            let ids = [try await alice.say("m1", to: "bob"), try await alice.say("m2", to: "bob"), try await alice.say("m3", to: "bob")]
            // Nothing can be acknowledged while the store is held: the first answer is the refusal.
            let refusal = try await alice.frame()
            guard case .serverResponse(let response) = refusal.body else {
                Issue.record("expected server_busy first, got \(refusal)")
                gate.release()
                return
            }
            #expect(response.code == .serverBusy)
            #expect(!response.fatal)
            #expect(response.message.contains("max_pending"))
            let refused = try #require(response.inReplyTo)
            let position = try #require(ids.firstIndex(of: refused))
            #expect(position > 0)
            // Per-sender order: a message after the refused one is refused too, until it is sent again.
            for later in ids[(position + 1)...] {
                _ = try await alice.expectRefusal(.serverBusy, inReplyTo: later)
            }
            gate.release()
            try await blocker.value
            var acked: [String] = []
            for _ in 0..<position {
                let envelope = try await alice.frame()
                guard case .messageAck(let ack) = envelope.body else { Issue.record("expected MESSAGE_ACK, got \(envelope)"); continue }
                acked.append(ack.ackedMessageID)
            }
            #expect(acked == Array(ids[..<position]))
            #expect(try await server.store.conversation(ConversationQuery(limit: 10)).count == position)
            // Sent again in order, the refused ones are stored in order.
            for (number, id) in ids.enumerated().dropFirst(position) {
                try await alice.say("m\(number + 1)", to: "bob", id: id)
                try await alice.expectAck(id)
            }
            #expect(try await server.store.conversation(ConversationQuery(limit: 10)).reversed().map(\.content) == ["m1", "m2", "m3"])
            await alice.close()
        }
    }

    // MARK: Presence

    @Test("LIST_CLIENTS answers CLIENT_LIST of the clients online, both kinds, sorted; a client that leaves is no longer listed")
    func listClients() async throws {
        try await withMessagingServer { server in
            let before = Date().timeIntervalSince1970
            let bob = try await RawPeer.join(server, as: "bob")
            let alice = try await RawPeer.join(server, as: "alice")
            let agent = try await RawPeer.join(server, as: "web-1", kind: .agent, key: try await server.key(for: "web-1"))
            let clients = try await alice.listClients()
            #expect(clients.map(\.clientID) == ["alice", "bob", "web-1"])
            #expect(clients.map(\.kind) == [.user, .user, .agent])
            #expect(clients.allSatisfy { $0.since >= before - 1 && $0.since <= Date().timeIntervalSince1970 + 1 })
            await bob.close()
            try await eventually(timeout: .seconds(5), "bob gone from the list") {
                try await alice.listClients().map(\.clientID) == ["alice", "web-1"]
            }
            await alice.close(); await agent.close()
        }
    }

    @Test("a second connection with the same user name supersedes the first, which is told and closed; mail goes to the new one")
    func userSupersede() async throws {
        try await withMessagingServer { server in
            let first = try await RawPeer.join(server, as: "alice")
            let second = try await RawPeer.join(server, as: "alice")
            let told = try #require(try await first.response())
            #expect(told.code == .superseded)
            #expect(told.fatal)
            #expect(try await first.waitForClose())

            let bob = try await RawPeer.join(server, as: "bob")
            let id = try await bob.say("which alice?", to: "alice")
            try await bob.expectAck(id)
            #expect(try await second.expectMessage().messageID == id)
            #expect(try await bob.listClients().map(\.clientID) == ["alice", "bob"])
            await second.close(); await bob.close()
        }
    }

    // MARK: Flow control

    @Test("a recipient that does not acknowledge never has more than messages.max_in_flight unacknowledged, and gets everything once it acknowledges")
    func maxInFlight() async throws {
        try await withMessagingServer({ $0.messageMaxInFlight = 3 }) { server in
            let alice = try await RawPeer.join(server, as: "alice")
            var bob = try await RawPeer.join(server, as: "bob")
            await bob.close()
            // A backlog of 6 while bob is away, then 6 more live while he has 3 unacknowledged.
            var ids: [String] = []
            for i in 1...6 {
                ids.append(try await alice.say("m\(i)", to: "bob"))
                try await alice.expectAck(ids.last!)
            }
            bob = try await RawPeer.join(server, as: "bob")
            var received: [RawPeer.Received] = []
            for _ in 0..<3 { received.append(try await bob.expectMessage()) }
            for i in 7...12 {
                ids.append(try await alice.say("m\(i)", to: "bob"))
                try await alice.expectAck(ids.last!)
            }
            // Nothing more while three are unacknowledged (a bounded wait: "nothing more" has no event to await).
            await #expect(throws: TimeoutError.self, "a fourth message with three unacknowledged") {
                try await bob.frame(timeout: .milliseconds(400))
            }
            // Rounds: acknowledge everything received, then take what comes until the line is quiet;
            // never more than three in a round, and every round brings something until all arrived.
            var round = Array(received)
            while received.count < 12 {
                for message in round { try await bob.acknowledge(message.messageID!) }
                round = []
                while let envelope = try? await bob.frame(timeout: .milliseconds(400)) {
                    guard case .clientMessage(let payload) = envelope.body else {
                        Issue.record("unexpected \(envelope)")
                        continue
                    }
                    round.append(RawPeer.Received(sender: envelope.senderID, messageID: envelope.messageID, payload: payload))
                }
                #expect(!round.isEmpty, "nothing came after everything was acknowledged (\(received.count) of 12)")
                #expect(round.count <= 3, "more than max_in_flight unacknowledged: \(round.count)")
                if round.isEmpty { break }
                received += round
            }
            #expect(received.map(\.content) == (1...12).map { "m\($0)" })
            #expect(received.map(\.messageID) == ids)
            for message in round { try await bob.acknowledge(message.messageID!) }
            let sentinel = try await alice.say("done", to: "bob")
            try await alice.expectAck(sentinel)
            #expect(try await bob.expectMessage().messageID == sentinel)
            await alice.close(); await bob.close()
        }
    }

    // MARK: Notices

    @Test("users with capability notices get a notice from server when a host goes DOWN, also one offline at the time; a user without it does not")
    func noticesForDown() async throws {
        try await withMessagingServer { server in
            let watcher = try await RawPeer.join(server, as: "ops", capabilities: [RegisterPayload.noticesCapability])
            let away = try await RawPeer.join(server, as: "oncall", capabilities: [RegisterPayload.noticesCapability])
            await away.close()
            let other = try await RawPeer.join(server, as: "dev")
            let agent = try await RawPeer.join(server, as: "web-1", kind: .agent, key: try await server.key(for: "web-1"))
            try await agent.send(Envelope(.heartbeat(HeartbeatPayload(seq: 1)), messageID: "hb-1"))
            try await server.waitFor("web-1", .healthy)
            await agent.close()  // no goodbye: SUSPECT, then DOWN after the reconnect grace (1 s)
            try await server.waitFor("web-1", .down, timeout: .seconds(10))

            let notice = try await watcher.expectMessage(timeout: .seconds(10))
            #expect(notice.sender == "server")
            #expect(notice.payload.kind == ClientMessagePayload.noticeKind)
            #expect(notice.payload.recipient == "ops")
            #expect(notice.content.hasPrefix("host web-1 is DOWN"), "\(notice.content)")
            try await watcher.acknowledge(notice.messageID!)

            // A subscriber that was offline gets it when it returns.
            let back = try await RawPeer.join(server, as: "oncall", capabilities: [RegisterPayload.noticesCapability])
            let missed = try await back.expectMessage()
            #expect(missed.payload.kind == ClientMessagePayload.noticeKind)
            #expect(missed.content.hasPrefix("host web-1 is DOWN"))
            await back.close()

            // dev did not subscribe: his next message is a later one.
            let sentinel = try await watcher.say("sentinel", to: "dev")
            try await watcher.expectAck(sentinel)
            #expect(try await other.expectMessage().messageID == sentinel)
            await watcher.close(); await other.close()
        }
    }

    // MARK: HTTP

    @Test("POST /api/messages stores a message from server and delivers it; GET /api/messages lists conversations and pages; bad input gets the right status")
    func httpMessages() async throws {
        try await withMessagingServer({ $0.messageMaxContentBytes = 16 }) { server in
            let alice = try await RawPeer.join(server, as: "alice")
            let bob = try await RawPeer.join(server, as: "bob")
            await bob.close()
            let json = ["Content-Type": "application/json"]
            func post(_ body: String) async throws -> (status: Int, json: [String: Any]) {
                let answer = try await server.http("POST", "/api/messages", headers: json, body: Data(body.utf8))
                return (answer.status, answer.json as? [String: Any] ?? [:])
            }

            let created = try await post(#"{"recipient": "alice", "content": "from ops"}"#)
            #expect(created.status == 201)
            #expect(created.json["sender"] as? String == "server")
            #expect(created.json["recipient"] as? String == "alice")
            #expect(created.json["content"] as? String == "from ops")
            #expect(created.json["seq"] is NSNull && created.json["kind"] is NSNull && created.json["sent_at"] is NSNull)
            #expect(created.json["stored_at"] is String)
            let messageID = try #require(created.json["message_id"] as? String)
            #expect(UUID(uuidString: messageID) != nil)
            let received = try await alice.expectMessage()
            #expect(received.sender == "server")
            #expect(received.messageID == messageID)
            #expect(received.content == "from ops")
            try await alice.acknowledge(messageID)

            let broadcast = try await post(#"{"recipient": null, "content": "to all"}"#)
            #expect(broadcast.status == 201)
            #expect(broadcast.json["recipient"] is NSNull)
            #expect(try await alice.expectMessage().content == "to all")
            let bobBack = try await RawPeer.join(server, as: "bob")
            #expect(try await bobBack.expectMessage().content == "to all", "bob, offline, gets the broadcast on return")

            // Refusals: each with its status and code; nothing stored by them.
            for (body, status, code) in [
                ("", 400, "invalid_body"),
                (#"{"recipient": "alice""#, 400, "invalid_json"),
                (#"{"recipient": "alice"}"#, 400, "missing_field"),
                (#"{"content": 1}"#, 400, "invalid_field"),
                (#"{"recipient": "alice", "content": ""}"#, 400, "invalid_message"),
                (#"{"recipient": "", "content": "x"}"#, 400, "invalid_message"),
                (#"{"recipient": "nobody", "content": "x"}"#, 404, "unknown_recipient"),
                (#"{"recipient": "alice", "content": "seventeen bytes!!"}"#, 413, "invalid_message"),
                ("{\"content\": \"" + String(repeating: "x", count: 6 * 16 + 4096) + "\"}", 413, "body_too_large"),
            ] {
                let answer = try await post(body)
                #expect(answer.status == status, "\(body.prefix(60))")
                #expect(answer.json["error"] as? String == code, "\(body.prefix(60)): \(answer.json)")
                #expect(answer.json["detail"] is String)
            }

            // Listing: alice's conversation, newest first, in pages.
            let first = try await server.http("GET", "/api/messages?client=alice&limit=1")
            #expect(first.status == 200)
            let page = try #require(first.json as? [String: Any])
            let newest = try #require((page["messages"] as? [[String: Any]])?.first)
            #expect(newest["content"] as? String == "to all")
            let next = try #require(page["next_before"] as? Int)
            let rest = try #require(try await server.http("GET", "/api/messages?client=alice&before=\(next)").json as? [String: Any])
            #expect((rest["messages"] as? [[String: Any]])?.map { $0["content"] as? String } == ["from ops"])
            #expect(rest["next_before"] is NSNull)
            let pair = try #require(try await server.http("GET", "/api/messages?client=alice&peer=server").json as? [String: Any])
            #expect((pair["messages"] as? [[String: Any]])?.count == 1, "only the private one is between alice and server")
            #expect(try await server.http("GET", "/api/messages").json.flatMap { ($0 as? [String: Any])?["messages"] as? [Any] }?.count == 2)
            for (query, status) in [("limit=0", 400), ("limit=1001", 400), ("before=x", 400), ("peer=alice", 400), ("client=nobody", 404), ("client=alice&peer=nobody", 404)] {
                let answer = try await server.http("GET", "/api/messages?\(query)")
                #expect(answer.status == status, "\(query)")
                #expect((answer.json as? [String: Any])?["error"] != nil, "\(query)")
            }
            await alice.close(); await bobBack.close()
        }
    }

    @Test("the id server is the server's own: no client registers as server (with or without a key), and nobody can message it")
    func reservedServerName() async throws {
        try await withMessagingServer({ $0.maxProtocolErrors = 0 }) { server in
            for key in [try await server.key(for: "server"), nil] {
                let impostor = try await RawPeer.connect(port: server.agentPort)
                try await impostor.send(Envelope(.clientRegister(RegisterPayload(key: key, hostname: "server")), messageID: "reg-server"))
                let refused = try #require(try await impostor.response())
                #expect(!refused.success && refused.fatal && refused.code == .invalidField, "\(refused.message)")
                #expect(try await impostor.waitForClose())
            }
            let alice = try await RawPeer.join(server, as: "alice")
            let id = try await alice.say("hello server", to: "server")
            _ = try await alice.expectRefusal(.unknownRecipient, inReplyTo: id)
            #expect(try await server.store.isKnown("server") == false)
            #expect(try await alice.listClients().map(\.clientID) == ["alice"])
            await alice.close()
        }
    }
}

/// Blocks a store write (on the store's own writer thread) until released.
final class StoreGate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let holding = Mutex(false)

    var isHolding: Bool { self.holding.withLock { $0 } }

    func hold() {
        self.holding.withLock { $0 = true }
        self.semaphore.wait()
    }

    func release() {
        self.semaphore.signal()
    }
}
