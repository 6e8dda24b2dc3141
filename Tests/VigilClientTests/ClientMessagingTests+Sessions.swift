import Foundation
import Testing
import VigilClient
import VigilProtocol

/// Send-only clients, acknowledgements naming their sender, and order across temporary refusals.
extension ClientMessagingTests {
    @Test("a recipient's MESSAGE_ACK names the sender (acked_sender_id): message ids are unique per sender only")
    func ackNamesSender() async throws {
        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        let client = ClientHarness(ClientHarness.settings(port: server.port))
        let peer = try await server.accept()
        try await peer.acceptRegistration()
        for sender in ["bob", "carol"] {
            peer.send(.clientMessage(ClientMessagePayload(content: "from \(sender)", recipient: "alice")), sender: sender, messageID: "1")
            let ack = try await peer.envelope()
            guard case .messageAck(let payload) = ack.body else { throw ScriptError("expected MESSAGE_ACK, got \(ack.type)") }
            #expect(payload.ackedMessageID == "1")
            #expect(payload.ackedSenderID == sender)
        }
        #expect(try await client.finish() == .left(unsent: 0))
    }

    @Test("a send-only client registers with capability send_only and neither acknowledges nor reports a message delivered to it")
    func sendOnly() async throws {
        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        var settings = ClientHarness.settings(port: server.port)
        settings.sendOnly = true
        let client = ClientHarness(settings)
        let peer = try await server.accept()
        let register = try await peer.acceptRegistration()
        #expect(register.capabilities.contains(RegisterPayload.sendOnlyCapability))
        peer.send(.clientMessage(ClientMessagePayload(content: "for alice's chat", recipient: "alice")), sender: "bob", messageID: "m-1")
        // No acknowledgement comes (a bounded wait: "nothing" has no event to await).
        await #expect(throws: ScriptError.self) { _ = try await peer.envelope(timeout: .milliseconds(400)) }
        let sent = client.connection.send("from a script", to: "bob")
        let envelope = try await peer.envelope()
        #expect(envelope.messageID == sent.messageID)
        peer.send(.messageAck(MessageAckPayload(ackedMessageID: sent.messageID, status: MessageAckPayload.stored)))
        _ = try await client.first("the ack") { if case .acknowledged(let m, _) = $0, m == sent { m } else { nil } }
        #expect(client.messages().isEmpty)
        #expect(try await client.finish() == .left(unsent: 0))
    }

    @Test("after a temporary refusal of one message and the ones written after it, the outbox sends the refused one first, then the rest in order")
    func resendsInOrderAfterRefusal() async throws {
        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        var settings = ClientHarness.settings(port: server.port)
        settings.retryRefusedAfter = .milliseconds(50)
        let client = ClientHarness(settings)
        let peer = try await server.accept()
        try await peer.acceptRegistration()
        let messages = (1...4).map { client.connection.send("m\($0)", to: "bob") }
        for message in messages {
            #expect(try await peer.envelope().messageID == message.messageID)
        }
        // As the server does: m2 rate-limited, and m3, m4 refused until m2 comes again.
        peer.send(.messageAck(MessageAckPayload(ackedMessageID: messages[0].messageID, status: MessageAckPayload.stored)))
        for message in messages.dropFirst() {
            peer.send(.serverResponse(ServerResponsePayload(success: false, message: "slow down", code: .rateLimited, inReplyTo: message.messageID)))
        }
        var resent: [String?] = []
        for _ in 0..<3 {
            let envelope = try await peer.envelope()
            resent.append(envelope.messageID)
            peer.send(.messageAck(MessageAckPayload(ackedMessageID: envelope.messageID ?? "", status: MessageAckPayload.stored)))
        }
        #expect(resent == messages.dropFirst().map(\.messageID))
        // The last acknowledgement must be taken before leaving, or the outbox may still hold it.
        let last = try #require(messages.last)
        _ = try await client.first("the last ack") { if case .acknowledged(let m, _) = $0, m == last { m } else { nil } }
        #expect(try await client.finish() == .left(unsent: 0))
    }
}
