import Foundation
import Logging
import NIOCore
import NIOExtras
import VigilProtocol

/// One agent connection: carries ``SessionStateMachine``'s actions out on the connection's event loop.
///
/// It turns channel events into the state machine's events and does what the answers say: writes
/// replies, arms the handshake timer, runs the key check, talks to the liveness tracker and the
/// metrics ingestor, and hands messaging and file frames to the session's parts (``SessionMailbox``,
/// ``SessionUploads``, ``SessionPushes``). The rules themselves live in the state machine.
final class AgentSessionHandler: ChannelInboundHandler {
    typealias InboundIn = ParsedFrame
    typealias OutboundOut = ByteBuffer
    /// Checks a register's key; the future completes on `eventLoop`.
    typealias Authenticate = (_ register: RegisterPayload, _ eventLoop: any EventLoop) -> EventLoopFuture<AuthenticatedClient>

    let environment: SessionEnvironment
    var logger: Logger
    var machine: SessionStateMachine
    let authenticate: Authenticate
    private var handshakeTimer: Scheduled<Void>?
    /// Messaging for this connection, once registered.
    var mailbox: SessionMailbox?
    /// Files from this client, once registered.
    var uploads: SessionUploads?
    /// Files passed on to this client, once registered.
    var pushes: SessionPushes?
    /// Set while the session is in ``SessionEnvironment/liveSessions`` (from registration to close).
    var liveSessionID: UInt64?

    /// - Parameter authenticate: The key check; by default the environment's authenticator, run
    ///   off the event loop (it touches the database). Tests give one that answers on the loop.
    init(environment: SessionEnvironment, authenticate: Authenticate? = nil) {
        self.environment = environment
        self.logger = environment.logger
        self.machine = SessionStateMachine(configuration: .init(settings: environment.settings))
        let authenticator = environment.authenticator
        self.authenticate = authenticate ?? { register, eventLoop in
            eventLoop.makeFutureWithTask { try await authenticator.authenticate(register) }
        }
        environment.sessionCreated()
    }

    deinit {
        self.environment.sessionFreed()
    }

    // MARK: Channel events

    func channelActive(context: ChannelHandlerContext) {
        self.logger[metadataKey: "peer"] = "\(context.remoteAddress.map(Self.describe) ?? "?")"
        guard let id = self.environment.admitConnection() else {
            self.perform(self.machine.handle(.connectionRefused), context)
            return
        }
        self.logger[metadataKey: "connection"] = "\(id)"
        self.logger.debug("connection accepted")
        self.perform(self.machine.handle(.connectionAdmitted(connectionID: id)), context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.perform(self.machine.handle(.channelInactive), context)
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.perform(self.machine.handle(.writabilityChanged(isWritable: context.channel.isWritable)), context)
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        self.environment.serverMetrics.frameReceived(frame)
        self.perform(self.machine.handle(frame.event), context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let request as CloseSessionRequest:
            if let address = request.redirectTo {
                self.perform(self.machine.handle(.redirectRequested(to: address, message: request.message)), context)
            } else {
                self.perform(self.machine.handle(.closeRequested(request.code, request.message)), context)
            }
        case let idle as IdleStateHandler.IdleStateEvent where idle == .read:
            self.perform(self.machine.handle(.readIdle), context)
        case is ChannelShouldQuiesceEvent:
            self.perform(self.machine.handle(.quiesce), context)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let frameError as FrameError:
            if case .frameTooLarge = frameError {
                self.perform(self.machine.handle(.frameTooLarge(frameError.description)), context)
            } else {
                self.logger.info("peer closed mid-frame", metadata: ["error": "\(frameError)"])
                self.perform(self.machine.handle(.connectionFailed(cause: frameError.description)), context)
            }
        default:
            self.logger.debug("connection error", metadata: ["error": "\(error)"])
            self.perform(self.machine.handle(.connectionFailed(cause: "I/O error: \(error)")), context)
        }
    }

    // MARK: Actions

    func perform(_ action: SessionAction, _ context: ChannelHandlerContext) {
        switch action {
        case .nothing:
            break
        case .scheduleHandshakeTimeout:
            self.handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: self.environment.settings.handshakeTimeout.timeAmount) {
                self.perform(self.machine.handle(.handshakeTimerFired), context)
            }
        case .startAuthentication(let register):
            self.startAuthentication(register, context)
        case .completeRegistration(let registration):
            self.handshakeTimer?.cancel()
            self.handshakeTimer = nil
            self.completeRegistration(registration, context)
            while let event = self.machine.nextQueuedFrame() {
                self.perform(self.machine.handle(event), context)
            }
            self.perform(self.machine.handle(.queueReplayed), context)
        case .acknowledgeHeartbeat(let seq, let client):
            self.environment.serverMetrics.heartbeatReceived()
            if client.hasLiveness {
                self.environment.tracker.heartbeat(hostname: client.clientID, connectionID: client.connectionID, now: .now(), wallNow: Date())
            }
            self.logger.debug("heartbeat", metadata: ["host": "\(client.clientID)", "seq": "\(seq)"])
            let ack = HeartbeatAckFrame.encode(seq: seq, serverTime: ServerClock.unixNow, allocator: context.channel.allocator)
            context.writeAndFlush(self.wrapOutboundOut(ack), promise: nil)
        case .ingestMetrics(let document, let hostname, let messageID):
            self.ingest(document, hostname: hostname, inReplyTo: messageID, context)
        case .passToMailbox(let envelope, let messageID):
            do {
                try self.mailbox?.receive(envelope, messageID: messageID)
            } catch {
                self.perform(self.machine.handle(.frameRefused(error, inReplyTo: messageID)), context)
            }
        case .passToUploads(let envelope, let messageID):
            do {
                try self.uploads?.receive(envelope, messageID: messageID)
            } catch {
                self.perform(self.machine.handle(.frameRefused(error, inReplyTo: messageID)), context)
            }
        case .passDataToUploads(let data):
            do {
                try self.uploads?.receive(data)
            } catch {
                self.perform(self.machine.handle(.frameRefused(error, inReplyTo: nil)), context)
            }
        case .passToPushes(let envelope, let messageID):
            do {
                try self.pushes?.receive(envelope, messageID: messageID)
            } catch {
                self.perform(self.machine.handle(.frameRefused(error, inReplyTo: messageID)), context)
            }
        case .respond(let payload):
            self.respond(context, payload, thenClose: false)
        case .refuse(let payload):
            self.environment.serverMetrics.protocolError(code: payload.code, closed: false)
            self.logger.notice("protocol error", metadata: ["code": "\(payload.code?.rawValue ?? "-")", "detail": "\(payload.message.logEscaped)"])
            self.respond(context, payload, thenClose: false)
        case .fail(let payload):
            self.environment.serverMetrics.protocolError(code: payload.code, closed: true)
            self.handshakeTimer?.cancel()
            self.logger.notice("closing connection", metadata: ["code": "\(payload.code?.rawValue ?? "-")", "detail": "\(payload.message.logEscaped)"])
            self.respond(context, payload, thenClose: true)
        case .unregister(let client, let reason, let goodbye):
            if client.hasLiveness {
                self.environment.tracker.unregister(hostname: client.clientID, connectionID: client.connectionID, reason: reason, wallNow: Date())
            }
            self.respond(context, goodbye, thenClose: true)
        case .close:
            context.close(promise: nil)
        case .setReading(let reading):
            context.channel.setOption(ChannelOptions.autoRead, value: reading).whenFailure { _ in }
        case .writabilityChanged(let reading):
            if let reading {
                context.channel.setOption(ChannelOptions.autoRead, value: reading).whenFailure { _ in }
            }
            self.mailbox?.writabilityChanged()
        case .tearDown(let teardown):
            self.tearDown(teardown)
        }
    }

    /// Writes a `SERVER_RESPONSE`; with `thenClose`, closes once it is written.
    func respond(_ context: ChannelHandlerContext, _ payload: ServerResponsePayload, thenClose: Bool) {
        let envelope = Envelope(.serverResponse(payload), senderID: "server", timestamp: ServerClock.unixNow, messageID: UUID().uuidString.lowercased())
        let written = context.writeAndFlush(self.wrapOutboundOut(envelope.encodedFrame(allocator: context.channel.allocator)))
        if thenClose {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
            // A peer that does not read could stall the write for ever: close regardless after the timeout.
            context.eventLoop.scheduleTask(in: self.environment.settings.closeTimeout.timeAmount) {
                channel.close(promise: nil)
            }
        }
    }

    private func tearDown(_ teardown: SessionTeardown) {
        self.handshakeTimer?.cancel()
        self.handshakeTimer = nil
        if teardown.releasesConnection {
            self.environment.releaseConnection()
        }
        self.mailbox?.stop()
        self.uploads?.stop()
        self.pushes?.stop()
        // The parts hold a link to this context (and so to the pipeline and this handler): let them
        // go, or every closed connection would stay in memory. Work they still have in flight keeps
        // what it needs until it completes.
        self.mailbox = nil
        self.uploads = nil
        self.pushes = nil
        if let id = self.liveSessionID {
            self.environment.registeredSessions.remove(connectionID: id)
            self.liveSessionID = nil
        }
        if let agent = teardown.lostAgent {
            self.environment.tracker.connectionLost(hostname: agent.clientID, connectionID: agent.connectionID, cause: teardown.cause, now: .now(), wallNow: Date())
        }
        self.logger.debug("connection closed", metadata: ["cause": "\(teardown.cause.logEscaped)"])
    }

    /// `address:port` for logs (the peer of a connection, a bound listener).
    static func describe(_ address: SocketAddress) -> String {
        switch address {
        case .v4, .v6: "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .unixDomainSocket: address.pathname ?? "unix"
        }
    }
}

@available(*, unavailable)
extension AgentSessionHandler: Sendable {}
