import Foundation
import Testing
import VigilProtocol
@testable import VigilStore
@testable import VigilServer

/// Send-only connections, per-sender order across temporary refusals, and acknowledgements that
/// name their sender.
extension MessagingTests {
    // MARK: Send-only

    @Test("a send-only connection gets none of its name's stored mail (a later normal one does), is not listed, and its messages are stored and acknowledged")
    func sendOnlyGetsNoMail() async throws {
        try await withMessagingServer { server in
            let first = try await RawPeer.join(server, as: "alice")
            await first.close()
            let bob = try await RawPeer.join(server, as: "bob")
            let waiting = try await bob.say("for alice's chat", to: "alice")
            try await bob.expectAck(waiting)

            let script = try await RawPeer.join(server, as: "alice", capabilities: [RegisterPayload.sendOnlyCapability])
            let id = try await script.say("from alice's script", to: "bob")
            try await script.expectAck(id)
            #expect(try await bob.expectMessage().messageID == id)
            // The waiting mail is not replayed to the script (a bounded wait: "nothing" has no event).
            await #expect(throws: TimeoutError.self, "mail replayed to a send-only connection") {
                try await script.frame(timeout: .milliseconds(500))
            }
            #expect(try await bob.listClients().map(\.clientID) == ["bob"])

            let chat = try await RawPeer.join(server, as: "alice")
            let mail = try await chat.expectMessage()
            #expect(mail.messageID == waiting)
            #expect(mail.content == "for alice's chat")
            await script.close(); await chat.close(); await bob.close()
        }
    }

    @Test("a send-only connection neither supersedes a chat of the same name nor is superseded by one")
    func sendOnlyDoesNotSupersede() async throws {
        try await withMessagingServer { server in
            let chat = try await RawPeer.join(server, as: "alice")
            let script = try await RawPeer.join(server, as: "alice", capabilities: [RegisterPayload.sendOnlyCapability])
            let bob = try await RawPeer.join(server, as: "bob")
            // The chat is still alice: bob's message reaches it as its next frame (not a `superseded`).
            let id = try await bob.say("still there?", to: "alice")
            try await bob.expectAck(id)
            #expect(try await chat.expectMessage().messageID == id)
            #expect(try await bob.listClients().map(\.clientID) == ["alice", "bob"])

            // A new chat supersedes the old one, not the script, which still sends.
            let newChat = try await RawPeer.join(server, as: "alice")
            #expect(try #require(try await chat.response()).code == .superseded)
            let sent = try await script.say("script still here", to: "bob")
            try await script.expectAck(sent)
            #expect(try await bob.expectMessage().messageID == sent)
            await script.close(); await newChat.close(); await chat.close(); await bob.close()
        }
    }

    // MARK: Order across temporary refusals

    @Test("after rate_limited, later messages on the connection are refused until the refused one is sent again; the store keeps the order sent")
    func orderAcrossRefusals() async throws {
        try await withMessagingServer({ $0.maxProtocolErrors = 0; $0.messageRateLimit = 5; $0.messageRateBurst = 2 }) { server in
            let alice = try await RawPeer.join(server, as: "alice")
            _ = try await RawPeer.join(server, as: "bob")
            let ids = (1...4).map { "m\($0)-\(UUID().uuidString.lowercased())" }
            for (number, id) in ids.prefix(3).enumerated() { try await alice.say("m\(number + 1)", to: "bob", id: id) }
            var answers: [String: Envelope] = [:]
            for _ in 0..<3 {
                let envelope = try await alice.frame()
                switch envelope.body {
                case .messageAck(let ack): answers[ack.ackedMessageID] = envelope
                case .serverResponse(let response): answers[response.inReplyTo ?? "?"] = envelope
                default: Issue.record("unexpected \(envelope)")
                }
            }
            guard case .serverResponse(let refused) = answers[ids[2]]?.body else {
                Issue.record("m3 was not refused: \(answers)")
                return
            }
            #expect(refused.code == .rateLimited)
            // A token is available again, but m4 must not overtake m3.
            try await Task.sleep(for: .milliseconds(300))
            try await alice.say("m4", to: "bob", id: ids[3])
            let blocked = try #require(try await alice.expectRefusal(.rateLimited, inReplyTo: ids[3]))
            #expect(blocked.message.contains(ids[2]))
            // m3 again: stored; then m4.
            try await alice.say("m3", to: "bob", id: ids[2])
            try await alice.expectAck(ids[2])
            try await Task.sleep(for: .milliseconds(300))
            try await alice.say("m4", to: "bob", id: ids[3])
            try await alice.expectAck(ids[3])
            let stored = try await server.store.conversation(ConversationQuery(limit: 10))
            #expect(stored.reversed().map(\.content) == ["m1", "m2", "m3", "m4"])
            await alice.close()
        }
    }

    // MARK: Acknowledgements

    @Test("a recipient's MESSAGE_ACK with acked_sender_id clears that sender's message, not another sender's with the same message_id")
    func ackNamesSender() async throws {
        try await withMessagingServer { server in
            var alice = try await RawPeer.join(server, as: "alice")
            let bob = try await RawPeer.join(server, as: "bob")
            let carol = try await RawPeer.join(server, as: "carol")
            try await bob.say("from bob", to: "alice", id: "1")
            try await bob.expectAck("1")
            #expect(try await alice.expectMessage().sender == "bob")
            try await carol.say("from carol", to: "alice", id: "1")
            try await carol.expectAck("1")
            #expect(try await alice.expectMessage().sender == "carol")
            // Only carol's "1" is acknowledged: bob's is delivered again on the next connection, first.
            try await alice.send(Envelope(.messageAck(MessageAckPayload(ackedMessageID: "1", ackedSenderID: "carol")), messageID: UUID().uuidString.lowercased()))
            // Frames of one connection are handled in order: the ack before the close.
            await alice.close()
            alice = try await RawPeer.join(server, as: "alice")
            let again = try await alice.expectMessage()
            #expect(again.sender == "bob")
            #expect(again.content == "from bob")
            await alice.close(); await bob.close(); await carol.close()
        }
    }

    // MARK: Slow readers

    @Test("a recipient that stops reading stalls delivery when its socket is full, well before messages.max_in_flight; nothing is lost")
    func nonReaderStalls() async throws {
        try await withMessagingServer({ $0.messageMaxInFlight = 1000 }) { server in
            let alice = try await RawPeer.join(server, as: "alice")
            let bob = try await RawPeer.join(server, as: "bob")
            try await bob.pauseReading()
            let count = 400
            let content = String(repeating: "x", count: 60_000)
            for number in 1...count {
                let id = try await alice.say("\(number) \(content)", to: "bob")
                try await alice.expectAck(id)
            }
            // 24 MB for bob: far more than the socket buffers take. Give the pushes a moment to settle.
            try await Task.sleep(for: .milliseconds(300))
            let entry = try #require(server.server.messages.directory.entry(for: "bob"))
            let inFlight = await withCheckedContinuation { continuation in
                entry.session.run { continuation.resume(returning: $0.inFlightCount) }
            }
            #expect(inFlight < count, "every message was written to a client that does not read")
            await bob.close()
            let back = try await RawPeer.join(server, as: "bob")
            var numbers: [Int] = []
            for _ in 0..<count {
                let message = try await back.expectMessage()
                numbers.append(Int(message.content.prefix { $0 != " " }) ?? 0)
                try await back.acknowledge(message.messageID!)
            }
            #expect(numbers == Array(1...count))
            await alice.close(); await back.close()
        }
    }

    // MARK: Logs

    @Test("client-controlled strings (message id, recipient) are logged escaped: a newline cannot forge a log line")
    func logsEscaped() async throws {
        try await withMessagingServer({ $0.maxProtocolErrors = 0 }) { server in
            let alice = try await RawPeer.join(server, as: "alice")
            let id = try await alice.say("hello", to: "nobody\nINFO forged-recipient", id: "m1\nINFO forged-id")
            _ = try await alice.expectRefusal(.unknownRecipient, inReplyTo: id)
            try await alice.acknowledge("m2\nINFO forged-ack")
            let sentinel = try await alice.say("sentinel", to: "alice")
            try await alice.expectAck(sentinel)
            try await eventually(timeout: .seconds(5), "the refusal logged") { server.logs.contains("forged-recipient") }
            let forged = server.logs.all.filter { $0.contains("forged") }
            #expect(!forged.isEmpty)
            #expect(forged.allSatisfy { !$0.contains("\n") }, "\(forged)")
            await alice.close()
        }
    }
}
