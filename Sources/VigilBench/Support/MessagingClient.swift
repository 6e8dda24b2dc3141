import Foundation
import Histogram
import NIOCore
import NIOPosix
import VigilConnection
import VigilProtocol

/// A person's client as the benchmark drives it: registers as a user, keeps heartbeats, sends
/// messages with at most `window` of them not yet acknowledged by the server, and acknowledges
/// (and times) every message delivered to it. All state lives on the connection's event loop.
final class MessagingClient: Sendable {
    let name: String
    let channel: any Channel
    private let handler: NIOLoopBound<MessagingHandler>

    private init(name: String, channel: any Channel, handler: NIOLoopBound<MessagingHandler>) {
        self.name = name
        self.channel = channel
        self.handler = handler
    }

    /// Connects and registers `name` as a user (the server must run with open enrollment).
    static func connect(name: String, port: Int, group: any EventLoopGroup, timeout: Duration, tls: ClientTLS? = nil) async throws -> MessagingClient {
        let loop = group.next()
        let registered = loop.makePromise(of: Void.self)
        var dialer = try ServerDialer(connectTimeout: timeout, maxFrameSize: 16 << 20, tls: tls)
        dialer.keepAlive = false
        let channel: any Channel
        do {
            channel = try await dialer.connect(to: ServerAddress(host: "127.0.0.1", port: port), group: loop) { pipeline in
                try pipeline.addHandler(MessagingHandler(name: name, registered: registered))
            }
        } catch {
            registered.fail(error)
            throw error
        }
        let timer = loop.scheduleTask(in: timeout.timeAmount) {
            registered.fail(BenchmarkError("\(name): no register reply within \(timeout)"))
        }
        defer { timer.cancel() }
        do {
            try await registered.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        let handler = try await channel.pipeline.handler(type: MessagingHandler.self).map { NIOLoopBound($0, eventLoop: loop) }.get()
        return MessagingClient(name: name, channel: channel, handler: handler)
    }

    /// Sends `count` messages to `recipient` (nil: broadcast), keeping at most `window` unacknowledged;
    /// completes when the server has acknowledged all of them.
    func send(count: Int, to recipient: String?, window: Int) async throws {
        let done = self.channel.eventLoop.makePromise(of: Void.self)
        self.channel.eventLoop.execute {
            self.handler.value.startSending(count: count, recipient: recipient, window: window, done: done)
        }
        try await done.futureResult.get()
    }

    /// What this client has seen so far (read on its loop).
    func figures() async throws -> MessagingFigures {
        try await self.channel.eventLoop.submit { self.handler.value.figures }.get()
    }

    func close() async {
        self.channel.close(promise: nil)
        try? await self.channel.closeFuture.get()
    }
}

/// Counts and latencies one client collected.
struct MessagingFigures: Sendable {
    /// Messages delivered to this client (each acknowledged).
    var received = 0
    /// Messages this client sent that the server acknowledged.
    var acked = 0
    var duplicates = 0
    /// Refusals (non-fatal `SERVER_RESPONSE` failures), by code.
    var refusals: [String: Int] = [:]
    /// Send → delivery at the recipient, microseconds.
    var delivery = MessagingFigures.histogram()
    /// Send → `MESSAGE_ACK` at the sender (stored), microseconds.
    var storeAck = MessagingFigures.histogram()
    /// When the last message arrived, monotonic nanoseconds.
    var lastReceivedAt: UInt64 = 0

    static func histogram() -> Histogram<UInt64> { LatencyRecorder.empty() }

    mutating func merge(_ other: MessagingFigures) {
        self.received += other.received
        self.acked += other.acked
        self.duplicates += other.duplicates
        self.refusals.merge(other.refusals, uniquingKeysWith: +)
        self.delivery.add(other.delivery)
        self.storeAck.add(other.storeAck)
        self.lastReceivedAt = max(self.lastReceivedAt, other.lastReceivedAt)
    }
}

private final class MessagingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let name: String
    private let registered: EventLoopPromise<Void>
    private var isRegistered = false
    private var heartbeats: RepeatedTask?
    private var heartbeatSeq: UInt64 = 0
    fileprivate var figures = MessagingFigures()

    // Sending state.
    private var toSend = 0
    private var sent = 0
    private var outstanding = 0
    private var window = 1
    private var recipient: String?
    private var done: EventLoopPromise<Void>?
    /// Send time of each unacknowledged message, by message id.
    private var sentAt: [String: UInt64] = [:]
    private var context: ChannelHandlerContext?

    init(name: String, registered: EventLoopPromise<Void>) {
        self.name = name
        self.registered = registered
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        let register = Envelope(.clientRegister(RegisterPayload(key: nil, hostname: self.name, capabilities: ["heartbeat"], agentVersion: "vigil-bench/1", kind: .user)),
                                messageID: UUID().uuidString.lowercased())
        context.writeAndFlush(self.wrapOutboundOut(register.encodedFrame(allocator: context.channel.allocator)), promise: nil)
        context.fireChannelActive()
    }

    func startSending(count: Int, recipient: String?, window: Int, done: EventLoopPromise<Void>) {
        self.toSend = count
        self.sent = 0
        self.outstanding = 0
        self.window = max(1, window)
        self.recipient = recipient
        self.done = done
        if count == 0 {
            done.succeed()
            return
        }
        self.fill()
    }

    private func fill() {
        guard let context = self.context else { return }
        var wrote = false
        while self.outstanding < self.window && self.sent < self.toSend {
            self.sent += 1
            self.outstanding += 1
            let now = NIODeadline.now().uptimeNanoseconds
            let id = UUID().uuidString.lowercased()
            self.sentAt[id] = now
            // The send time rides in the content, so the recipient can time the delivery without shared state.
            let message = Envelope(.clientMessage(ClientMessagePayload(content: "bench \(now)", recipient: self.recipient, seq: UInt64(self.sent))), messageID: id)
            context.write(self.wrapOutboundOut(message.encodedFrame(allocator: context.channel.allocator)), promise: nil)
            wrote = true
        }
        if wrote { context.flush() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(jsonFrame: self.unwrapInboundIn(data))
        } catch {
            self.figures.refusals["unreadable_frame", default: 0] += 1
            return
        }
        let now = NIODeadline.now().uptimeNanoseconds
        switch envelope.body {
        case .serverResponse(let response) where !self.isRegistered:
            if response.success, let session = response.session {
                self.isRegistered = true
                self.registered.succeed()
                self.startHeartbeats(context, interval: session.heartbeatInterval)
            } else {
                self.registered.fail(BenchmarkError("\(self.name): registration refused: \(response.code?.rawValue ?? "-"): \(response.message)"))
                context.close(promise: nil)
            }
        case .serverResponse(let response):
            if !response.success {
                self.figures.refusals[response.code?.rawValue ?? "unknown", default: 0] += 1
                if let id = response.inReplyTo, self.sentAt.removeValue(forKey: id) != nil {
                    // Refused: count it as done so the run ends; the refusal is reported.
                    self.outstanding -= 1
                    self.completeIfDone()
                    self.fill()
                }
            }
        case .messageAck(let ack):
            guard let sentAt = self.sentAt.removeValue(forKey: ack.ackedMessageID) else { return }
            _ = self.figures.storeAck.record(max(1, (now &- sentAt) / 1000))
            self.figures.acked += 1
            if ack.status == MessageAckPayload.duplicate { self.figures.duplicates += 1 }
            self.outstanding -= 1
            self.completeIfDone()
            self.fill()
        case .clientMessage(let message):
            self.figures.received += 1
            self.figures.lastReceivedAt = now
            if message.content.hasPrefix("bench "), let sentAt = UInt64(message.content.dropFirst(6)) {
                _ = self.figures.delivery.record(max(1, (now &- sentAt) / 1000))
            }
            if let id = envelope.messageID {
                let ack = Envelope(.messageAck(MessageAckPayload(ackedMessageID: id, ackedSenderID: envelope.senderID)))
                context.write(self.wrapOutboundOut(ack.encodedFrame(allocator: context.channel.allocator)), promise: nil)
            }
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    private func completeIfDone() {
        if self.sent == self.toSend && self.outstanding == 0, let done = self.done {
            self.done = nil
            done.succeed()
        }
    }

    private func startHeartbeats(_ context: ChannelHandlerContext, interval: Double) {
        let interval = TimeAmount.nanoseconds(Int64(min(max(interval, 0.1), 3600) * 1e9))
        let channel = context.channel
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.heartbeats = context.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: interval) { _ in
            handler.value.heartbeatSeq += 1
            let heartbeat = Envelope(.heartbeat(HeartbeatPayload(seq: handler.value.heartbeatSeq)))
            channel.writeAndFlush(heartbeat.encodedFrame(allocator: channel.allocator), promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.heartbeats?.cancel()
        if !self.isRegistered {
            self.registered.fail(BenchmarkError("\(self.name): connection closed before the register reply"))
        }
        self.done?.fail(BenchmarkError("\(self.name): connection closed while sending (\(self.sent - self.outstanding) of \(self.toSend) acknowledged)"))
        self.done = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
