import Foundation
import NIOCore
import NIOPosix
import Synchronization
import VigilProtocol

/// A framed TCP server whose every answer the test writes by hand, to check what the client sends
/// (ids, order, resends, data frames) and how it reacts to what a real server rarely does (a cut
/// in the middle, a redelivery). Heartbeats are answered by themselves.
final class ScriptedServer: Sendable {
    let port: Int
    private let channel: any Channel
    private let peers: Accepted

    /// Connections accepted and not yet taken by the test.
    final class Accepted: Sendable {
        let queue = Mutex<[ScriptedPeer]>([])
    }

    static func start() async throws -> ScriptedServer {
        let peers = Accepted()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addVigilFraming(maxFrameSize: 8 << 20)
                    let peer = ScriptedPeer(channel: child)
                    try child.pipeline.syncOperations.addHandler(peer.collector)
                    peers.queue.withLock { $0.append(peer) }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedServer(channel: channel, peers: peers)
    }

    private init(channel: any Channel, peers: Accepted) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
        self.peers = peers
    }

    /// The next connection, in the order they came.
    func accept(timeout: Duration = .seconds(20)) async throws -> ScriptedPeer {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let peer = self.peers.queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return peer }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw ScriptError("no connection within \(timeout)")
    }

    func stop() async {
        try? await self.channel.close()
    }
}

/// One connection to the ``ScriptedServer``.
final class ScriptedPeer: Sendable {
    let channel: any Channel
    let collector = Collector()

    init(channel: any Channel) {
        self.channel = channel
    }

    var isClosed: Bool { self.collector.state.withLock { $0.closed } }

    /// The next frame (heartbeats excepted), or `nil` once the client closed the connection.
    func next(timeout: Duration = .seconds(20)) async throws -> InboundFrame? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (frame, closed) = self.collector.state.withLock { state -> (ByteBuffer?, Bool) in
                state.frames.isEmpty ? (nil, state.closed) : (state.frames.removeFirst(), false)
            }
            if let frame { return try InboundFrame.parse(frame) }
            if closed { return nil }
            guard ContinuousClock.now < deadline else { throw ScriptError("no frame within \(timeout)") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// The next envelope; fails on a binary frame or a close.
    func envelope(timeout: Duration = .seconds(20)) async throws -> Envelope {
        guard let frame = try await self.next(timeout: timeout) else { throw ScriptError("the client closed the connection") }
        guard case .envelope(let envelope) = frame else { throw ScriptError("expected an envelope, got a binary frame") }
        return envelope
    }

    /// Reads the CLIENT_REGISTER and answers it as a server with `interval` would.
    @discardableResult
    func acceptRegistration(as clientID: String? = nil, interval: Double = 30) async throws -> RegisterPayload {
        let envelope = try await self.envelope()
        guard case .clientRegister(let register) = envelope.body else { throw ScriptError("expected CLIENT_REGISTER, got \(envelope.type)") }
        let id = clientID ?? register.hostname
        self.send(.serverResponse(ServerResponsePayload(
            success: true, message: "registered as \(id)", inReplyTo: envelope.messageID,
            session: SessionParameters(clientID: id, hostname: id, serverID: "scripted", protocolVersion: 1, heartbeatInterval: interval, maxFrameSize: 1 << 20)
        )))
        return register
    }

    func send(_ body: Envelope.Body, sender: String = "server", messageID: String? = UUID().uuidString.lowercased()) {
        self.send(Envelope(body, senderID: sender, timestamp: Date().timeIntervalSince1970, messageID: messageID))
    }

    func send(_ envelope: Envelope) {
        self.channel.writeAndFlush(envelope.encodedFrame(), promise: nil)
    }

    func close() async {
        try? await self.channel.close()
    }

    /// Stores frames as they come; answers heartbeats.
    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        struct State {
            var frames: [ByteBuffer] = []
            var closed = false
            var heartbeats = 0
        }
        let state = Mutex(State())

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = self.unwrapInboundIn(data)
            if case .envelope(let envelope)? = try? InboundFrame.parse(frame), case .heartbeat(let heartbeat) = envelope.body {
                self.state.withLock { $0.heartbeats += 1 }
                let ack = Envelope(.heartbeatAck(HeartbeatAckPayload(seq: heartbeat.seq, serverTime: Date().timeIntervalSince1970)), senderID: "server")
                context.writeAndFlush(NIOAny(ack.encodedFrame()), promise: nil)
                return
            }
            if case .envelope(let envelope)? = try? InboundFrame.parse(frame), case .clientUnregister = envelope.body {
                // The goodbye, as a server says it; the frame is still kept for the test to see.
                let goodbye = Envelope(.serverResponse(ServerResponsePayload(success: true, message: "goodbye", inReplyTo: envelope.messageID, fatal: true)), senderID: "server")
                context.writeAndFlush(NIOAny(goodbye.encodedFrame()), promise: nil)
            }
            self.state.withLock { $0.frames.append(frame) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.state.withLock { $0.closed = true }
        }
    }
}

struct ScriptError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
