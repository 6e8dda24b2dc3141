import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import VigilProtocol

/// A small Vigil server over TLS on 127.0.0.1 (an ephemeral port): it speaks the framing, registers
/// every CLIENT_REGISTER, acknowledges heartbeats and answers CLIENT_UNREGISTER. Enough for a client
/// to reach "registered" through the real handshake.
final class TLSTestServer: Sendable {
    let channel: any Channel

    var port: Int { self.channel.localAddress?.port ?? 0 }

    init(configuration: TLSConfiguration) async throws {
        let context = try NIOSSLContext(configuration: configuration)
        let box = Names()
        let recorder: @Sendable (String) -> Void = { name in box.append(name) }
        self.channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.addVigilFraming(maxFrameSize: 1 << 20)
                    try channel.pipeline.syncOperations.addHandler(Responder(onRegister: recorder))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        self.recorder = box
    }

    private let recorder: Names

    /// The host names registered so far.
    var registeredNames: [String] { self.recorder.all }

    private final class Names: Sendable {
        private let names = Mutex<[String]>([])
        func append(_ name: String) { self.names.withLock { $0.append(name) } }
        var all: [String] { self.names.withLock { $0 } }
    }

    func close() async {
        try? await self.channel.close()
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let onRegister: @Sendable (String) -> Void

        init(onRegister: @escaping @Sendable (String) -> Void) {
            self.onRegister = onRegister
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .envelope(let envelope)? = try? InboundFrame.parse(self.unwrapInboundIn(data)) else { return }
            let reply: Envelope.Body
            switch envelope.body {
            case .clientRegister(let register):
                self.onRegister(register.hostname)
                reply = .serverResponse(ServerResponsePayload(
                    success: true, message: "registered", inReplyTo: envelope.messageID,
                    session: SessionParameters(clientID: register.hostname, hostname: register.hostname, serverID: "tls-test",
                                               protocolVersion: 1, heartbeatInterval: 30, maxFrameSize: 1 << 20)
                ))
            case .heartbeat(let heartbeat):
                reply = .heartbeatAck(HeartbeatAckPayload(seq: heartbeat.seq, serverTime: Date().timeIntervalSince1970))
            case .clientUnregister:
                reply = .serverResponse(ServerResponsePayload(success: true, message: "bye", inReplyTo: envelope.messageID))
            default:
                return
            }
            let frame = Envelope(reply, senderID: "server", timestamp: Date().timeIntervalSince1970, messageID: UUID().uuidString.lowercased()).encodedFrame()
            context.writeAndFlush(self.wrapOutboundOut(frame), promise: nil)
        }
    }
}

/// What a plaintext Vigil listener does with a TLS ClientHello: the length prefix reads as an
/// oversized frame, so it answers with a plaintext SERVER_RESPONSE and closes.
final class PlaintextRefuser: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = Envelope(.serverResponse(ServerResponsePayload(success: false, message: "frame too large", code: .frameTooLarge, fatal: true)),
                             senderID: "server", timestamp: Date().timeIntervalSince1970, messageID: "m").encodedFrame()
        var framed = context.channel.allocator.buffer(capacity: reply.readableBytes + 4)
        framed.writeInteger(UInt32(reply.readableBytes))
        framed.writeImmutableBuffer(reply)
        context.writeAndFlush(self.wrapOutboundOut(framed), promise: nil)
        context.close(promise: nil)
    }
}
