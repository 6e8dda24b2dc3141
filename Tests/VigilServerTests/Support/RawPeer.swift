import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import X509
import VigilProtocol

/// A hostile or clumsy peer: writes arbitrary bytes, reads frames by hand, and notices the close.
final class RawPeer: Sendable {
    private let channel: any Channel
    private let forwarder: InboxForwarder

    /// - Parameter prepare: Adds handlers in front of the peer's own (a TLS client, say).
    static func connect(port: Int, prepare: @escaping @Sendable (any Channel) throws -> Void = { _ in }) async throws -> RawPeer {
        let forwarder = InboxForwarder()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(forwarder)
                    try prepare(channel)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawPeer(channel: channel, forwarder: forwarder)
    }

    private init(channel: any Channel, forwarder: InboxForwarder) {
        self.channel = channel
        self.forwarder = forwarder
    }

    var isClosed: Bool { self.forwarder.inbox.withLock { $0.closed } }

    /// The last error the connection saw (a failed TLS handshake, say).
    var lastError: (any Error)? { self.forwarder.inbox.withLock { $0.error } }

    /// The certificate the server presented, on a TLS connection.
    func peerCertificate() async throws -> Certificate? {
        guard let certificate = try await self.channel.nioSSL_peerCertificate().get() else { return nil }
        return try Certificate(derEncoded: try certificate.toDERBytes())
    }

    /// Everything received and not read as frames, as text (for raw HTTP exchanges).
    var receivedText: String { self.forwarder.inbox.withLock { String(buffer: $0.bytes) } }

    func send(bytes: [UInt8]) async throws {
        try await self.channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Sends one frame: the 4-byte length, then the payload.
    func send(frame payload: [UInt8]) async throws {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
        try await self.channel.writeAndFlush(buffer)
    }

    func send(json: String) async throws {
        try await self.send(frame: Array(json.utf8))
    }

    func send(_ envelope: Envelope) async throws {
        try await self.send(frame: Array(envelope.encodedFrame().readableBytesView))
    }

    func register(key: String?, hostname: String = "peer", version: Int = ProtocolVersion.current) async throws {
        try await self.send(Envelope(.clientRegister(RegisterPayload(key: key, protocolVersion: version, hostname: hostname)), messageID: "reg-1"))
    }

    /// Reads the next envelope, or `nil` if the server closed the connection first.
    func next(timeout: Duration = .seconds(5)) async throws -> Envelope? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let step: (payload: ByteBuffer?, closed: Bool) = self.forwarder.inbox.withLock { inbox in
                if let length = inbox.bytes.getInteger(at: inbox.bytes.readerIndex, as: UInt32.self),
                   inbox.bytes.readableBytes >= 4 + Int(length) {
                    inbox.bytes.moveReaderIndex(forwardBy: 4)
                    return (inbox.bytes.readSlice(length: Int(length)), false)
                }
                return (nil, inbox.closed)
            }
            if let payload = step.payload {
                guard case .envelope(let envelope) = try InboundFrame.parse(payload) else { return nil }
                return envelope
            }
            if step.closed { return nil }
            guard ContinuousClock.now < deadline else { throw TimeoutError(description: "no frame within \(timeout)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Reads the next frame of either kind (a JSON envelope or a binary frame), or `nil` if the
    /// server closed the connection first.
    func nextFrame(timeout: Duration = .seconds(5)) async throws -> InboundFrame? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let step: (payload: ByteBuffer?, closed: Bool) = self.forwarder.inbox.withLock { inbox in
                if let length = inbox.bytes.getInteger(at: inbox.bytes.readerIndex, as: UInt32.self),
                   inbox.bytes.readableBytes >= 4 + Int(length) {
                    inbox.bytes.moveReaderIndex(forwardBy: 4)
                    return (inbox.bytes.readSlice(length: Int(length)), false)
                }
                return (nil, inbox.closed)
            }
            if let payload = step.payload { return try InboundFrame.parse(payload) }
            if step.closed { return nil }
            guard ContinuousClock.now < deadline else { throw TimeoutError(description: "no frame within \(timeout)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Reads the next `SERVER_RESPONSE`, skipping acks.
    func response(timeout: Duration = .seconds(5)) async throws -> ServerResponsePayload? {
        while let envelope = try await self.next(timeout: timeout) {
            if case .serverResponse(let response) = envelope.body { return response }
        }
        return nil
    }

    /// Reads the next `HEARTBEAT_ACK`.
    func ack(timeout: Duration = .seconds(5)) async throws -> HeartbeatAckPayload? {
        while let envelope = try await self.next(timeout: timeout) {
            if case .heartbeatAck(let ack) = envelope.body { return ack }
        }
        return nil
    }

    /// True once the server has closed the connection (within `timeout`); frames before it are skipped.
    func waitForClose(timeout: Duration = .seconds(5)) async throws -> Bool {
        while try await self.next(timeout: timeout) != nil {}
        return true
    }

    /// Stops reading from the socket: the server's writes back up as a non-reading client's would.
    func pauseReading() async throws {
        try await self.channel.setOption(ChannelOptions.autoRead, value: false)
    }

    /// Writes without waiting for the bytes to leave; the future completes when they have.
    func write(bytes: [UInt8]) -> EventLoopFuture<Void> {
        self.channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Shuts down the sending side only (`shutdown(SHUT_WR)`): the server reads an orderly end of
    /// stream while this peer can still read what it answers.
    func closeOutput() async throws {
        try await self.channel.close(mode: .output)
    }

    func close() async {
        try? await self.channel.close()
    }
}

struct Inbox {
    var bytes = ByteBuffer()
    var closed = false
    var error: (any Error)?
}

/// Feeds a peer's inbox from the channel.
final class InboxForwarder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let inbox = Mutex(Inbox())

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = self.unwrapInboundIn(data)
        self.inbox.withLock { $0.bytes.writeBuffer(&buffer) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.inbox.withLock { $0.closed = true }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.inbox.withLock { $0.error = error }
        context.close(promise: nil)
    }
}
