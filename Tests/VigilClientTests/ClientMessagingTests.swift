import Foundation
import Testing
import VigilClient
import VigilProtocol

/// The client's side of messaging against a server scripted by the test: what goes on the wire,
/// the outbox across reconnects, deduplication, refusals, leaving.
@Suite("Client messaging (scripted server)")
struct ClientMessagingTests {
    @Test("registers as a user; acknowledges every delivery and reports a redelivered message once")
    func registersAndDeduplicates() async throws {
        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        var settings = ClientHarness.settings(port: server.port, key: "vk_example")
        settings.capabilities = ["heartbeat", "notices"]
        let client = ClientHarness(settings)
        let peer = try await server.accept()
        let register = try await peer.acceptRegistration()
        #expect(register.kind == .user)
        #expect(register.hostname == "alice")
        #expect(register.key == "vk_example")
        #expect(register.capabilities == ["heartbeat", "notices"])
        _ = try await client.first("registered") { if case .registered(let p) = $0 { p } else { nil } }

        let message = ClientMessagePayload(content: "hello alice", recipient: "alice", seq: 7, storedAt: 1_718_000_000)
        for _ in 0..<2 {
            peer.send(.clientMessage(message), sender: "bob", messageID: "m-1")
            let ack = try await peer.envelope()
            guard case .messageAck(let payload) = ack.body else { throw ScriptError("expected MESSAGE_ACK, got \(ack.type)") }
            #expect(payload.ackedMessageID == "m-1")
            #expect(payload.status == nil)
        }
        // The same id from another sender is another message.
        peer.send(.clientMessage(ClientMessagePayload(content: "hi all")), sender: "carol", messageID: "m-1")
        _ = try await peer.envelope()
        _ = try await client.first("carol's message") { if case .message(let m) = $0, m.sender == "carol" { m } else { nil } }
        let received = client.messages()
        #expect(received.count == 2)
        #expect(received.first == IncomingMessage(sender: "bob", messageID: "m-1", content: "hello alice", recipient: "alice", seq: 7, storedAt: 1_718_000_000))
        #expect(received.last?.sender == "carol" && received.last?.isPrivate == false)
        #expect(try await client.finish() == .left(unsent: 0))
    }

    @Test("unacknowledged messages are sent again in order with the same ids after a reconnect")
    func resendsOutboxAfterReconnect() async throws {
        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        let client = ClientHarness(ClientHarness.settings(port: server.port))
        // Queued before the connection is up: they go out once registered.
        let sent = ["one", "two", "three"].enumerated().map { client.connection.send($0.element, to: $0.offset == 1 ? "bob" : nil) }
        #expect(sent.map(\.seq) == [1, 2, 3])
        #expect(sent.allSatisfy { $0.messageID == $0.messageID.lowercased() && UUID(uuidString: $0.messageID) != nil })
        #expect(Set(sent.map(\.messageID)).count == 3)

        let first = try await server.accept()
        try await first.acceptRegistration()
        var ids: [String] = []
        for expected in sent {
            let envelope = try await first.envelope()
            guard case .clientMessage(let payload) = envelope.body else { throw ScriptError("expected CLIENT_MESSAGE, got \(envelope.type)") }
            #expect(payload.content == expected.content)
            #expect(payload.recipient == expected.recipient)
            #expect(payload.seq == expected.seq)
            ids.append(envelope.messageID ?? "")
        }
        #expect(ids == sent.map(\.messageID))
        // Only the first is stored before the connection is cut.
        first.send(.messageAck(MessageAckPayload(ackedMessageID: ids[0], status: MessageAckPayload.stored)))
        _ = try await client.first("the first ack") { if case .acknowledged(let m, false) = $0, m == sent[0] { m } else { nil } }
        await first.close()

        let second = try await server.accept()
        try await second.acceptRegistration()
        for expected in sent.dropFirst() {
            let envelope = try await second.envelope()
            #expect(envelope.messageID == expected.messageID)
            guard case .clientMessage(let payload) = envelope.body else { throw ScriptError("expected CLIENT_MESSAGE, got \(envelope.type)") }
            #expect(payload.seq == expected.seq)
        }
        second.send(.messageAck(MessageAckPayload(ackedMessageID: ids[1], status: MessageAckPayload.duplicate)))
        second.send(.messageAck(MessageAckPayload(ackedMessageID: ids[2], status: MessageAckPayload.stored)))
        _ = try await client.first("the last ack") { if case .acknowledged(let m, false) = $0, m == sent[2] { m } else { nil } }
        #expect(client.all { if case .acknowledged(let m, true) = $0 { m } else { nil } } == [sent[1]])
        #expect(client.acknowledged() == sent)
        #expect(client.all { if case .disconnected(let reason, _) = $0 { reason } else { nil } }.count == 1)
        #expect(try await client.finish() == .left(unsent: 0))
    }

    @Test("a refused message is reported and not sent again; a rate-limited one is retried")
    func refusals() async throws {
        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        var settings = ClientHarness.settings(port: server.port)
        settings.retryRefusedAfter = .milliseconds(50)
        let client = ClientHarness(settings)
        let peer = try await server.accept()
        try await peer.acceptRegistration()
        let unknown = client.connection.send("hello?", to: "nobody")
        let envelope = try await peer.envelope()
        #expect(envelope.messageID == unknown.messageID)
        peer.send(.serverResponse(ServerResponsePayload(success: false, message: "no client named nobody has ever registered", code: .unknownRecipient, inReplyTo: unknown.messageID)))
        let refusal = try await client.first("the refusal") { if case .messageRefused(let m, let code, let reason) = $0 { (m, code, reason) } else { nil } }
        #expect(refusal.0 == unknown && refusal.1 == .unknownRecipient && refusal.2.contains("nobody"))

        let limited = client.connection.send("again", to: nil)
        let first = try await peer.envelope()
        #expect(first.messageID == limited.messageID)
        peer.send(.serverResponse(ServerResponsePayload(success: false, message: "slow down", code: .rateLimited, inReplyTo: limited.messageID)))
        let retried = try await peer.envelope()
        #expect(retried.messageID == limited.messageID)
        peer.send(.messageAck(MessageAckPayload(ackedMessageID: limited.messageID, status: MessageAckPayload.stored)))
        _ = try await client.first("the retried message's ack") { if case .acknowledged(let m, _) = $0, m == limited { m } else { nil } }

        // The refused message is not in the outbox: after a reconnect nothing is resent.
        await peer.close()
        let second = try await server.accept()
        try await second.acceptRegistration()
        await #expect(throws: ScriptError.self) { _ = try await second.envelope(timeout: .milliseconds(300)) }
        #expect(try await client.finish() == .left(unsent: 0))
    }

    @Test("leaving waits for the outbox, unregisters and reads the goodbye")
    func leavesCleanly() async throws {
        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        let client = ClientHarness(ClientHarness.settings(port: server.port))
        let peer = try await server.accept()
        try await peer.acceptRegistration()
        let message = client.connection.send("last words", to: "bob")
        client.connection.leave(reason: "done", drainTimeout: .seconds(5))
        let envelope = try await peer.envelope()
        #expect(envelope.messageID == message.messageID)
        try await Task.sleep(for: .milliseconds(100))
        #expect(peer.collector.state.withLock { $0.frames.isEmpty }, "no unregister before the ack")
        peer.send(.messageAck(MessageAckPayload(ackedMessageID: message.messageID, status: MessageAckPayload.stored)))
        let goodbye = try await peer.envelope()
        guard case .clientUnregister(let unregister) = goodbye.body else { throw ScriptError("expected CLIENT_UNREGISTER, got \(goodbye.type)") }
        #expect(unregister.reason == "done")
        #expect(try await client.exit() == .left(unsent: 0))
        guard case .stopped(.left(0))? = client.all.last else { throw ScriptError("the last event is not stopped: \(client.all)") }
    }

    @Test("a refused key stops the client; a superseded session too; an unreachable server is given up")
    func stops() async throws {
        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        let refused = ClientHarness(ClientHarness.settings(port: server.port, key: "vk_wrong"))
        let peer = try await server.accept()
        let register = try await peer.envelope()
        peer.send(.serverResponse(ServerResponsePayload(success: false, message: "key wrong is not known", code: .invalidKey, inReplyTo: register.messageID, fatal: true)))
        #expect(try await refused.exit() == .refused(code: .invalidKey, message: "key wrong is not known"))
        await #expect(throws: ScriptError.self) { _ = try await server.accept(timeout: .milliseconds(300)) }

        let superseded = ClientHarness(ClientHarness.settings(port: server.port))
        let second = try await server.accept()
        try await second.acceptRegistration()
        second.send(.serverResponse(ServerResponsePayload(success: false, message: "another connection registered as alice", code: .superseded, fatal: true)))
        await second.close()
        #expect(try await superseded.exit() == .superseded("another connection registered as alice"))

        await server.stop()
        var settings = ClientHarness.settings(port: server.port)
        settings.giveUpAfter = .milliseconds(300)
        let unreachable = ClientHarness(settings)
        guard case .gaveUp(let reason) = try await unreachable.exit() else { throw ScriptError("expected gaveUp") }
        #expect(reason.contains("no connection"))
    }

    @Test("a file pushed to a chat user is refused, and the refusal reported")
    func refusesPushedFiles() async throws {
        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        let client = ClientHarness(ClientHarness.settings(port: server.port))
        let peer = try await server.accept()
        try await peer.acceptRegistration()
        let transferID = UUID().uuidString.lowercased()
        peer.send(.fileOffer(FileOfferPayload(transferID: transferID, filename: "a.txt", size: 3, sha256: String(repeating: "0", count: 64), sender: "bob")))
        let reject = try await peer.envelope()
        guard case .fileReject(let payload) = reject.body else { throw ScriptError("expected FILE_REJECT, got \(reject.type)") }
        #expect(payload.transferID == transferID)
        #expect(payload.reason.contains("does not accept files"))
        _ = try await client.first("the offer") { if case .fileOffered(let offer, _) = $0 { offer } else { nil } }
        #expect(try await client.finish() == .left(unsent: 0))
    }
}
