import Foundation
import NIOCore
import NIOEmbedded
import Testing
import VigilMetrics
import VigilProtocol
@testable import VigilServer

/// The session handler over an `EmbeddedChannel` (see ``EmbeddedSession``): the listener's
/// pipeline, an in-memory environment, no sockets; timers driven with `advanceTime`.
@Suite("Agent session handler")
struct AgentSessionHandlerTests {
    @Test("register (frames read during the key check wait), heartbeat acknowledged, goodbye closes")
    func registerHeartbeatUnregister() throws {
        let session = try EmbeddedSession()
        defer { session.finish() }
        session.connect()
        #expect(session.environment.openConnections == 1)
        try session.send(Envelope(.clientRegister(RegisterPayload(key: nil, hostname: "web1")), messageID: "reg"))
        try session.send(Envelope(.heartbeat(HeartbeatPayload(seq: 1)), messageID: "h1"))
        #expect(session.keyChecks.pending.count == 1)
        #expect(try session.frames().isEmpty)  // nothing is answered before the key is checked
        session.answerKeyCheck(.success(AuthenticatedClient(hostname: "web1", keyID: "k1")))
        let frames = try session.frames()
        #expect(frames.count == 2)
        guard frames.count == 2, case .serverResponse(let reply) = frames[0].body, case .heartbeatAck(let ack) = frames[1].body else {
            Issue.record("expected the register reply then HEARTBEAT_ACK, got \(frames)")
            return
        }
        #expect(reply.success && reply.inReplyTo == "reg" && reply.session?.clientID == "web1" && reply.session?.serverID == "test-server")
        #expect(ack.seq == 1)
        #expect(session.environment.tracker.status(of: "web1")?.connected == true)

        try session.send(Envelope(.clientUnregister(UnregisterPayload(reason: "maintenance")), messageID: "bye"))
        let goodbye = try session.responses()
        #expect(goodbye == [ServerResponsePayload(success: true, message: "goodbye", inReplyTo: "bye", fatal: true)])
        #expect(!session.channel.isActive)
        #expect(session.environment.openConnections == 0)
        #expect(session.environment.tracker.status(of: "web1")?.connected == false)
    }

    @Test("no CLIENT_REGISTER within agents.handshake_timeout: handshake_timeout, then closed")
    func handshakeTimeout() throws {
        let session = try EmbeddedSession { $0.handshakeTimeout = .seconds(3) }
        defer { session.finish() }
        session.connect()
        session.loop.advanceTime(by: .seconds(2))
        #expect(try session.frames().isEmpty && session.channel.isActive)
        session.loop.advanceTime(by: .seconds(1))
        let responses = try session.responses()
        #expect(responses.map(\.code) == [.handshakeTimeout] && responses.first?.fatal == true)
        #expect(!session.channel.isActive)
        #expect(session.environment.openConnections == 0)
    }

    @Test("the key check still running at the handshake deadline: handshake_timeout quoting nothing; its late answer is ignored")
    func handshakeTimeoutDuringKeyCheck() throws {
        let session = try EmbeddedSession { $0.handshakeTimeout = .seconds(3) }
        defer { session.finish() }
        session.connect()
        try session.send(Envelope(.clientRegister(RegisterPayload(key: nil, hostname: "web1")), messageID: "reg"))
        session.loop.advanceTime(by: .seconds(3))
        #expect(try session.responses().map(\.code) == [.handshakeTimeout])
        session.answerKeyCheck(.success(AuthenticatedClient(hostname: "web1")))
        #expect(try session.frames().isEmpty)
        #expect(session.environment.tracker.status(of: "web1") == nil)
    }

    /// `IdleStateHandler` measures silence with the wall clock (`NIODeadline.now()`), not the
    /// loop's, so `advanceTime` cannot make it fire: its event is sent through the pipeline as it
    /// sends it. The socket-level tests cover the timing itself.
    @Test("read idle closes a registered connection with idle_timeout; a version-0 one stays open")
    func idleTimeout() throws {
        let session = try EmbeddedSession()
        defer { session.finish() }
        #expect(try session.register()?.success == true)
        session.channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(try session.responses().map(\.code) == [.idleTimeout])
        #expect(!session.channel.isActive)
        #expect(session.environment.tracker.status(of: "web1")?.connected == false)

        let legacy = try EmbeddedSession()
        defer { legacy.finish() }
        #expect(try legacy.register(version: ProtocolVersion.legacy)?.success == true)
        legacy.channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(try legacy.frames().isEmpty && legacy.channel.isActive)
    }

    @Test("a refused key is answered with its code in reply to the register, then closed")
    func refusedKey() throws {
        let session = try EmbeddedSession()
        defer { session.finish() }
        session.connect()
        try session.send(Envelope(.clientRegister(RegisterPayload(key: nil, hostname: "web1")), messageID: "reg"))
        session.answerKeyCheck(.failure(ProtocolViolation(.revokedKey, "key k1 (host web1) has been revoked")))
        #expect(try session.responses() == [ServerResponsePayload(success: false, message: "key k1 (host web1) has been revoked", code: .revokedKey, inReplyTo: "reg", fatal: true)])
        #expect(!session.channel.isActive)
    }

    @Test("an unparsable first frame is answered in reply to its readable message_id; nothing after the fatal answer is read")
    func parserViolationBeforeRegistration() throws {
        let session = try EmbeddedSession()
        defer { session.finish() }
        session.connect()
        try session.sendPayload(ByteBuffer(string: #"{"type":"NOPE","message_id":"r9"}"#))
        try? session.send(Envelope(.clientRegister(RegisterPayload(key: nil, hostname: "web1")), messageID: "reg"))
        let responses = try session.responses()
        #expect(responses.count == 1)
        #expect(responses.first?.code == .unknownType && responses.first?.inReplyTo == "r9" && responses.first?.fatal == true)
        #expect(session.keyChecks.pending.isEmpty)
        #expect(!session.channel.isActive)
    }

    @Test("over agents.max_connections: server_full, and the connection is not counted")
    func serverFull() throws {
        let session = try EmbeddedSession { $0.maxConnections = 0 }
        defer { session.finish() }
        session.connect()
        #expect(try session.responses().map(\.code) == [.serverFull])
        #expect(session.environment.openConnections == 0)
    }

    @Test("a refused sample is answered but not counted; protocol errors past the limit close the connection")
    func errorsCounted() throws {
        let session = try EmbeddedSession { $0.maxProtocolErrors = 1 }
        defer { session.finish() }
        #expect(try session.register()?.success == true)
        let document = MetricsDocument(timestamp: Date())
        try session.send(Envelope(.metrics(document), messageID: "m1"))
        // An hour ahead of the server's clock: refused after decoding, so not counted.
        try session.send(Envelope(.metrics(MetricsDocument(timestamp: Date() + 3600)), messageID: "m2"))
        let ahead = try session.responses()
        #expect(ahead.map(\.code) == [.invalidField] && ahead.first?.inReplyTo == "m2" && ahead.first?.fatal == false)
        try session.sendPayload(ByteBuffer(string: #"{"type":"NOPE","message_id":"n1"}"#))
        let refusal = try session.responses()
        #expect(refusal.first?.inReplyTo == "n1" && refusal.first?.fatal == false)
        try session.sendPayload(ByteBuffer(string: "{"))
        #expect(try session.responses().map(\.code) == [.tooManyErrors])
        #expect(!session.channel.isActive)
    }

    @Test("a frame over agents.max_frame_size is answered frame_too_large and closed")
    func frameTooLarge() throws {
        let session = try EmbeddedSession()
        defer { session.finish() }
        session.connect()
        var header = ByteBuffer()
        header.writeInteger(UInt32(session.environment.settings.maxFrameSize + 1))
        try session.channel.writeInbound(header)
        #expect(try session.responses().map(\.code) == [.frameTooLarge])
        #expect(!session.channel.isActive)
    }

    @Test("a close request through the pipeline (a newer connection, a revoked key) answers and closes; the tracker hears the loss")
    func closeRequest() throws {
        let session = try EmbeddedSession()
        defer { session.finish() }
        #expect(try session.register(keyID: "k1")?.success == true)
        session.channel.pipeline.fireUserInboundEventTriggered(CloseSessionRequest(code: .revokedKey, message: "key k1 has been revoked"))
        #expect(try session.responses() == [ServerResponsePayload(success: false, message: "key k1 has been revoked", code: .revokedKey, fatal: true)])
        #expect(!session.channel.isActive)
        #expect(session.environment.tracker.status(of: "web1")?.connected == false)
    }

    @Test("at shutdown a session closes without an answer")
    func quiesce() throws {
        let session = try EmbeddedSession()
        defer { session.finish() }
        #expect(try session.register()?.success == true)
        session.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(try session.frames().isEmpty)
        #expect(!session.channel.isActive)
        #expect(session.environment.openConnections == 0)
    }
}
