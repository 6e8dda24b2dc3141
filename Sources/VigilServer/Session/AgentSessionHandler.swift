import Foundation
import Logging
import NIOCore
import NIOExtras
import VigilProtocol

/// Asks a session to answer with an error and close; sent through the pipeline from any thread.
struct CloseSessionRequest: Sendable {
    var code: ErrorCode
    var message: String
}

/// One agent connection: the protocol's state machine, on the connection's event loop.
///
/// Order of a session: `CLIENT_REGISTER` (within `agents.handshake_timeout` of accept) → success
/// reply → heartbeats, each acknowledged → `CLIENT_UNREGISTER` or close. Before registration any
/// fault is fatal (answer, then close); after it, a fault in one frame costs only that frame, up to
/// `agents.max_protocol_errors`.
final class AgentSessionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case awaitingRegister
        /// The key is being checked off the loop; frames that arrive meanwhile wait in order.
        case authenticating(queued: [ByteBuffer])
        /// `hostname` is the client id: a host's name, or a person's name for `kind == .user`.
        case registered(hostname: String, kind: ClientKind)
        case closing
    }

    private let environment: SessionEnvironment
    private var logger: Logger
    private var phase = Phase.awaitingRegister
    private var connectionID: UInt64?
    private var handshakeTimer: Scheduled<Void>?
    private var protocolErrors = 0
    /// Set once a fatal answer is on its way: nothing more is read or answered.
    private var isClosing = false
    private var closeCause = "closed by peer"
    /// Messaging for this connection, once registered.
    private var mailbox: SessionMailbox?
    /// File transfers on this connection, once registered.
    private var transfers: SessionTransfers?
    /// Reasons reading is paused for; reading resumes when none is left.
    private var readPauses: Set<ReadPause> = []
    /// Registered as protocol version 0 (PROTOCOL.md §13): a client without heartbeats.
    private var isLegacy = false

    init(environment: SessionEnvironment) {
        self.environment = environment
        self.logger = environment.logger
        environment.sessionCreated()
    }

    deinit {
        self.environment.sessionFreed()
    }

    // MARK: Lifecycle

    func channelActive(context: ChannelHandlerContext) {
        self.logger[metadataKey: "peer"] = "\(context.remoteAddress.map(Self.describe) ?? "?")"
        guard let id = self.environment.admitConnection() else {
            self.fail(context, .serverFull, "server is at its limit of \(self.environment.settings.maxConnections) connections; retry later", inReplyTo: nil)
            return
        }
        self.connectionID = id
        self.logger[metadataKey: "connection"] = "\(id)"
        self.logger.debug("connection accepted")
        let timeout = self.environment.settings.handshakeTimeout
        self.handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout.timeAmount) {
            switch self.phase {
            case .awaitingRegister, .authenticating: break
            case .registered, .closing: return
            }
            self.fail(context, .handshakeTimeout, "no valid CLIENT_REGISTER within \(timeout.compactDescription) of connecting", inReplyTo: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.handshakeTimer?.cancel()
        if self.connectionID != nil {
            self.environment.releaseConnection()
        }
        self.mailbox?.stop()
        self.transfers?.stop()
        // The parts hold a link to this context (and so to the pipeline and this handler): let them
        // go, or every closed connection would stay in memory. Work they still have in flight keeps
        // what it needs until it completes.
        self.mailbox = nil
        self.transfers = nil
        if case .registered(let hostname, .agent) = self.phase, let id = self.connectionID {
            self.environment.tracker.connectionLost(hostname: hostname, connectionID: id, cause: self.closeCause, now: .now(), wallNow: Date())
        }
        self.logger.debug("connection closed", metadata: ["cause": "\(self.closeCause.logEscaped)"])
        self.phase = .closing
        context.fireChannelInactive()
    }

    /// A peer that sends but does not read would make its acknowledgements pile up in memory:
    /// while the socket cannot take more, stop reading from it.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .registered = self.phase, !self.isClosing {
            self.pauseReading(context, .outboundFull, !context.channel.isWritable)
            self.mailbox?.writabilityChanged()
        }
        context.fireChannelWritabilityChanged()
    }

    /// Stops or resumes reading for one reason; the socket is read only while no reason is left.
    private func pauseReading(_ context: ChannelHandlerContext, _ reason: ReadPause, _ paused: Bool) {
        let wasPaused = !self.readPauses.isEmpty
        if paused { self.readPauses.insert(reason) } else { self.readPauses.remove(reason) }
        guard wasPaused != !self.readPauses.isEmpty, !self.isClosing else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: self.readPauses.isEmpty).whenFailure { _ in }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let request as CloseSessionRequest:
            self.fail(context, request.code, request.message, inReplyTo: nil)
        case let idle as IdleStateHandler.IdleStateEvent where idle == .read:
            // A version-0 client has no heartbeat to send: it is not closed for being quiet
            // (TCP keep-alive finds a dead one).
            if case .registered = self.phase, !self.isLegacy {
                self.fail(context, .idleTimeout, "no frame for \(self.environment.settings.idleTimeout.compactDescription); closing", inReplyTo: nil)
            }
        case is ChannelShouldQuiesceEvent:
            // The server is shutting down: leave without an answer; agents reconnect to it or another.
            self.closeCause = "server shutting down"
            self.isClosing = true
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let frameError as FrameError:
            if case .frameTooLarge = frameError {
                self.fail(context, .frameTooLarge, frameError.description, inReplyTo: nil)
            } else {
                self.closeCause = frameError.description
                self.logger.info("peer closed mid-frame", metadata: ["error": "\(frameError)"])
                context.close(promise: nil)
            }
        default:
            self.closeCause = "I/O error: \(error)"
            self.logger.debug("connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: Frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.isClosing else { return }
        let frame = self.unwrapInboundIn(data)
        switch self.phase {
        case .closing:
            return
        case .authenticating(var queued):
            queued.append(frame)
            self.phase = .authenticating(queued: queued)
        case .awaitingRegister, .registered:
            self.handle(context, frame)
        }
    }

    private func handle(_ context: ChannelHandlerContext, _ frame: ByteBuffer) {
        let envelope: Envelope
        do {
            switch try InboundFrame.parse(frame) {
            case .envelope(let parsed):
                envelope = parsed
            case .fileData(let data):
                guard case .registered = self.phase, let transfers = self.transfers else {
                    self.fail(context, .notRegistered, "file data before CLIENT_REGISTER", inReplyTo: nil)
                    return
                }
                do {
                    try transfers.receive(data)
                } catch {
                    self.violation(context, error, inReplyTo: nil)
                }
                return
            }
        } catch {
            // A JSON frame that did not decode may still carry a readable message_id: quote it (§7).
            self.violation(context, error, inReplyTo: Envelope.readableMessageID(in: frame))
            return
        }
        let messageID = envelope.messageID.flatMap { $0.utf8.count <= ProtocolLimits.maxMessageIDBytes ? $0 : nil }
        switch self.phase {
        case .awaitingRegister:
            guard case .clientRegister(let register) = envelope.body else {
                self.fail(context, .notRegistered, "the first frame must be CLIENT_REGISTER, got \(envelope.type.rawValue)", inReplyTo: messageID)
                return
            }
            self.beginRegistration(context, register, messageID: messageID)
        case .registered(let hostname, let kind):
            self.handleRegistered(context, envelope, hostname: hostname, kind: kind, messageID: messageID)
        case .authenticating, .closing:
            return
        }
    }

    private func handleRegistered(_ context: ChannelHandlerContext, _ envelope: Envelope, hostname: String, kind: ClientKind, messageID: String?) {
        guard let id = self.connectionID else { return }
        switch envelope.body {
        case .heartbeat(let heartbeat):
            if kind == .agent {
                self.environment.tracker.heartbeat(hostname: hostname, connectionID: id, now: .now(), wallNow: Date())
            }
            self.logger.debug("heartbeat", metadata: ["host": "\(hostname)", "seq": "\(heartbeat.seq)"])
            let ack = HeartbeatAckFrame.encode(seq: heartbeat.seq, serverTime: Date().timeIntervalSince1970, allocator: context.channel.allocator)
            context.writeAndFlush(self.wrapOutboundOut(ack), promise: nil)
        case .clientUnregister(let unregister):
            let reason = unregister.reason.map { Self.truncated($0, toBytes: ProtocolLimits.maxReasonBytes) }
            if kind == .agent {
                self.environment.tracker.unregister(hostname: hostname, connectionID: id, reason: reason, wallNow: Date())
            }
            self.phase = .closing
            self.isClosing = true
            self.closeCause = "unregistered"
            self.respond(context, ServerResponsePayload(success: true, message: "goodbye", inReplyTo: messageID, fatal: true), thenClose: true)
        case .metrics where kind != .agent:
            self.violation(context, ProtocolViolation(.unexpectedType, "METRICS is sent by agents; this connection registered as a user"), inReplyTo: messageID)
        case .metrics(let document):
            do {
                try self.environment.metrics.ingest(document, hostname: hostname, onStored: Self.metricsAcknowledgement(channel: context.channel, inReplyTo: messageID))
            } catch {
                // A refused sample is not a protocol error: the agent did nothing wrong in framing,
                // so it is answered but not counted toward agents.max_protocol_errors.
                // A bad value is worth a notice; rate-limited and stale samples repeat every interval,
                // so they are counted (`/api/health`) and logged at debug only.
                self.logger.log(level: error.kind == .invalid ? .notice : .debug, "metrics sample refused", metadata: ["code": "\(error.code.rawValue)", "detail": "\(error.detail.logEscaped)"])
                self.respond(context, ServerResponsePayload(success: false, message: error.detail, code: error.code, inReplyTo: messageID), thenClose: false)
            }
        case .clientRegister:
            self.violation(context, ProtocolViolation(.alreadyRegistered, "this connection is already registered as \(hostname)"), inReplyTo: messageID)
        case .clientMessage, .messageAck, .listClients:
            do {
                try self.mailbox?.receive(envelope, messageID: messageID)
            } catch {
                self.violation(context, error, inReplyTo: messageID)
            }
        case .fileOffer, .fileReady, .fileReject, .fileSaved, .fileFailed, .end:
            do {
                try self.transfers?.receive(envelope, messageID: messageID)
            } catch {
                self.violation(context, error, inReplyTo: messageID)
            }
        case .serverResponse, .heartbeatAck, .clientList:
            self.violation(context, ProtocolViolation(.unexpectedType, "\(envelope.type.rawValue) is sent by servers, not clients"), inReplyTo: messageID)
        }
    }

    // MARK: Registration

    private func beginRegistration(_ context: ChannelHandlerContext, _ register: RegisterPayload, messageID: String?) {
        if let violation = register.limitViolation {
            self.fail(context, violation.code, violation.detail, inReplyTo: messageID)
            return
        }
        // Version 0 is checked with the identity: the authenticator admits it or answers as before it existed.
        guard ProtocolVersion.supported.contains(register.protocolVersion) || register.protocolVersion == ProtocolVersion.legacy else {
            let supported = ProtocolVersion.supported
            self.fail(context, .unsupportedVersion, "protocol version \(register.protocolVersion) is not supported; this server speaks \(supported.lowerBound)...\(supported.upperBound)", inReplyTo: messageID)
            return
        }
        self.phase = .authenticating(queued: [])
        // Stop reading until the key is checked, so an unauthenticated peer cannot queue frames
        // beyond what the current read already delivered.
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        let authenticator = self.environment.authenticator
        // The key check touches the database: run it off the event loop, resume on it.
        context.eventLoop.makeFutureWithTask {
            try await authenticator.authenticate(register)
        }.assumeIsolated().whenComplete { result in
            guard !self.isClosing, case .authenticating(let queued) = self.phase else { return }  // closed meanwhile
            switch result {
            case .success(let hostname):
                self.completeRegistration(context, register, hostname: hostname, messageID: messageID)
                // The queued frames first, then more reading: order is kept without relying on when NIO reads.
                for frame in queued {
                    guard case .registered = self.phase, !self.isClosing else { break }
                    self.handle(context, frame)
                }
                // Unless a queued frame already paused reading (a file transfer's disk behind, say).
                if !self.isClosing, self.readPauses.isEmpty {
                    context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
                }
            case .failure(let error as ProtocolViolation):
                self.fail(context, error.code, error.detail, inReplyTo: messageID)
            case .failure(let error):
                self.logger.error("could not check agent key", metadata: ["error": "\(error)"])
                self.fail(context, .internalError, "the server could not check the key; retry later", inReplyTo: messageID)
            }
        }
    }

    private func completeRegistration(_ context: ChannelHandlerContext, _ register: RegisterPayload, hostname: String, messageID: String?) {
        guard let id = self.connectionID else { return }
        self.handshakeTimer?.cancel()
        self.handshakeTimer = nil
        self.phase = .registered(hostname: hostname, kind: register.kind)
        self.isLegacy = register.protocolVersion == ProtocolVersion.legacy
        self.logger[metadataKey: "host"] = "\(hostname)"
        let channel = context.channel
        let handle = ConnectionHandle(id: id) { code, message in
            channel.pipeline.fireUserInboundEventTriggered(CloseSessionRequest(code: code, message: message))
        }
        if register.kind == .agent {
            // Only hosts have liveness; a person's tool is present while connected and never DOWN.
            let info = RegistrationInfo(agentVersion: register.agentVersion, protocolVersion: register.protocolVersion, capabilities: register.capabilities, address: context.remoteAddress.map(Self.describe))
            let superseded = self.environment.tracker.register(hostname: hostname, connection: handle, info: info, now: .now(), wallNow: Date())
            superseded?.close(.superseded, "another connection registered as \(hostname); closing this one")
        }
        let link = SessionLink(
            clientID: hostname, kind: register.kind, connectionID: id, context: context,
            pauseReading: { [unowned self] reason, paused in self.pauseReading(context, reason, paused) },
            respond: { [unowned self] payload in self.respond(context, payload, thenClose: false) },
            fail: { [unowned self] code, message in self.fail(context, code, message, inReplyTo: nil) }
        )
        self.mailbox = SessionMailbox(service: self.environment.messages, link: link, handle: handle, capabilities: register.capabilities, logger: self.logger)
        self.transfers = SessionTransfers(
            service: self.environment.files, link: link,
            // A version-0 client does not know FILE_OFFER: files are not passed on to it.
            takesPushes: !self.isLegacy && !register.capabilities.contains(RegisterPayload.sendOnlyCapability), logger: self.logger)
        let settings = self.environment.settings
        let session = SessionParameters(
            clientID: hostname, hostname: hostname, serverID: self.environment.serverID,
            protocolVersion: register.protocolVersion, heartbeatInterval: settings.heartbeatInterval.seconds,
            maxFrameSize: settings.maxFrameSize
        )
        self.logger.info(register.kind == .agent ? "agent registered" : "user registered", metadata: [
            "reported_hostname": "\(register.hostname.logEscaped)", "agent_version": "\(register.agentVersion.logEscaped)",
            "protocol_version": "\(register.protocolVersion)",
        ])
        self.respond(context, ServerResponsePayload(success: true, message: "registered as \(hostname)", inReplyTo: messageID, session: session), thenClose: false)
        // After the reply: whatever waited in the mailbox follows the register answer.
        self.mailbox?.start()
    }

    /// Answers a `METRICS` frame once its sample is on disk: `SERVER_RESPONSE` with `success: true`
    /// and `in_reply_to` (PROTOCOL.md §4.6), or, when the write failed, a non-fatal `server_busy`
    /// refusal (the sample was not kept; send it again). Runs on the metrics writer's task; a
    /// channel write may come from any thread. A frame without a usable `message_id` has nothing
    /// to match an answer to, so it gets none.
    private static func metricsAcknowledgement(channel: any Channel, inReplyTo messageID: String?) -> MetricsIngestor.Completion? {
        guard let messageID else { return nil }
        return { result in
            let frame: ByteBuffer
            switch result {
            case .success:
                frame = MetricsAckFrame.encode(inReplyTo: messageID, serverTime: Date().timeIntervalSince1970, allocator: channel.allocator)
            case .failure(let error):
                let message = StorageCondition.isStorageFull(error)
                    ? "storage_full: the server's disk is full; the sample was not stored, send it again once space returns"
                    : "the server could not store the sample; send it again later"
                let payload = ServerResponsePayload(success: false, message: message, code: .serverBusy, inReplyTo: messageID)
                frame = Envelope(.serverResponse(payload), senderID: "server", timestamp: Date().timeIntervalSince1970, messageID: UUID().uuidString.lowercased())
                    .encodedFrame(allocator: channel.allocator)
            }
            channel.writeAndFlush(frame, promise: nil)
        }
    }

    // MARK: Errors

    /// A frame that could not be used. Fatal before registration; counted after it.
    private func violation(_ context: ChannelHandlerContext, _ error: any Error, inReplyTo messageID: String?) {
        let violation = error as? ProtocolViolation ?? ProtocolViolation(.invalidJSON, "\(error)")
        guard case .registered = self.phase else {
            self.fail(context, violation.code, violation.detail, inReplyTo: messageID)
            return
        }
        self.protocolErrors += 1
        if self.protocolErrors > self.environment.settings.maxProtocolErrors {
            self.fail(context, .tooManyErrors, "more than \(self.environment.settings.maxProtocolErrors) protocol errors on this connection; last: \(violation.detail)", inReplyTo: messageID)
            return
        }
        self.logger.notice("protocol error", metadata: ["code": "\(violation.code.rawValue)", "detail": "\(violation.detail.logEscaped)"])
        self.respond(context, ServerResponsePayload(success: false, message: violation.detail, code: violation.code, inReplyTo: messageID), thenClose: false)
    }

    /// Answers with a fatal error and closes once the answer is written.
    private func fail(_ context: ChannelHandlerContext, _ code: ErrorCode, _ message: String, inReplyTo messageID: String?) {
        guard !self.isClosing else { return }
        self.isClosing = true
        self.handshakeTimer?.cancel()
        self.closeCause = "\(code.rawValue): \(message)"
        self.logger.notice("closing connection", metadata: ["code": "\(code.rawValue)", "detail": "\(message.logEscaped)"])
        // A registered phase is kept until channelInactive, so the tracker hears the host was lost.
        self.respond(context, ServerResponsePayload(success: false, message: message, code: code, inReplyTo: messageID, fatal: true), thenClose: true)
    }

    private func respond(_ context: ChannelHandlerContext, _ payload: ServerResponsePayload, thenClose: Bool) {
        let envelope = Envelope(.serverResponse(payload), senderID: "server", timestamp: Date().timeIntervalSince1970, messageID: UUID().uuidString.lowercased())
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

    /// At most `limit` UTF-8 bytes, cut between characters.
    static func truncated(_ text: String, toBytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var bytes = 0
        return String(text.prefix { character in
            bytes += character.utf8.count
            return bytes <= limit
        })
    }

    static func describe(_ address: SocketAddress) -> String {
        switch address {
        case .v4, .v6: "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .unixDomainSocket: address.pathname ?? "unix"
        }
    }
}

@available(*, unavailable)
extension AgentSessionHandler: Sendable {}
