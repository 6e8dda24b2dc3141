#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import NIOPosix
import VigilMetrics
import VigilProtocol
import VigilConnection

/// How a session ended.
enum SessionOutcome: Sendable, Equatable {
    /// Shutdown was requested; the goodbye was sent (and acknowledged, unless it timed out).
    case shutDown
}

/// Why a session failed; every case but ``refused`` is worth a reconnect.
enum SessionError: Error, CustomStringConvertible {
    /// The server said no to the registration, e.g. a wrong or revoked key.
    case refused(code: ErrorCode?, message: String)
    /// The server closed the connection (`code` `nil`) or sent a fatal error with `code`.
    case closed(code: ErrorCode?, reason: String)
    case registerTimeout(Duration)
    /// Heartbeats went unanswered: the server or the path to it is gone.
    case serverSilent(unacknowledged: Int)
    case badFrame(String)
    /// A cluster member sent the agent to another (`redirect`): at capacity when it registered, or
    /// shedding load later. `address` is the member's `redirect_to`, as sent.
    case redirected(to: String, message: String)

    var description: String {
        switch self {
        case .refused(let code, let message): "registration refused (\(code?.rawValue ?? "no code")): \(message)"
        case .closed(_, let reason): "connection closed: \(reason)"
        case .registerTimeout(let timeout): "no answer to CLIENT_REGISTER within \(timeout)"
        case .serverSilent(let count): "\(count) heartbeats unacknowledged; the server is unreachable"
        case .badFrame(let detail): "unreadable frame from server: \(detail)"
        case .redirected(let address, let message): "redirected to \(address.logEscaped): \(message.logEscaped)"
        }
    }

    /// Refusals that no retry can cure (``ErrorCode/isPermanentRefusal``): the operator must fix the
    /// key, the version or the TLS setup. A fatal `superseded` after registration means another agent
    /// registered with the same key: reconnecting would knock it off in turn, forever, so this agent
    /// leaves instead.
    var isPermanent: Bool {
        switch self {
        case .refused(let code, _), .closed(let code, _): code?.isPermanentRefusal ?? false
        default: false
        }
    }
}

/// One connection to one server: register, heartbeat, answer acks, send metrics samples, say
/// goodbye on shutdown.
///
/// Everything that can happen (a frame, the connection closing, a heartbeat tick, a metrics sample,
/// a deadline, shutdown) becomes an event on one stream, and one loop handles them in order: no
/// shared state between tasks beyond the stream itself (and the agent-lifetime metrics pipeline,
/// which hands samples in through that stream).
struct AgentSession {
    private enum Event: Sendable {
        case frame(ByteBuffer)
        case closed((any Error)?)
        case tick
        /// A sample from the agent's metrics pipeline, delivered only while registered.
        case metrics(MetricsDocument)
        /// A spooled sample to send again (its spool record id).
        case replay(UInt64, MetricsDocument)
        case registerDeadline
        /// Shutdown came while the register reply was outstanding, and the reply did not come in time.
        case lateRegisterReplyDeadline
        case unregisterDeadline
        case shutdown
    }

    let settings: AgentSettings
    let server: ServerAddress
    /// Dials the server (shared by every session of the agent: it holds the TLS context).
    let dialer: ServerDialer
    let shutdown: ShutdownSignal
    let logger: Logger
    let group: any EventLoopGroup
    /// The agent's metrics pipeline; `nil` when metrics are off.
    let metrics: MetricsPipeline?
    /// Called once the server accepted the registration.
    let onRegistered: @Sendable (SessionParameters) -> Void

    func run() async throws -> SessionOutcome {
        // TCP, TLS pinned to the server's CA when configured, framing: a TLSFailure is thrown from here.
        let channel = try await self.dialer.connect(to: self.server, group: self.group)
        return try await channel.executeThenClose { inbound, outbound in
            let (events, continuation) = AsyncStream<Event>.makeStream()
            let shutdownID = self.shutdown.onRequest { continuation.yield(.shutdown) }
            defer {
                self.shutdown.removeHandler(shutdownID)
                // After handle() has detached from the metrics pipeline: a late sample is refused, not queued forever.
                continuation.finish()
            }
            // File bytes not yet on disk are bounded: past the budget the reader waits, and so does the socket.
            let budget = ByteBudget(limit: self.settings.inboxMaxBufferedBytes)
            let inbox = self.settings.inbox.map { directory in
                InboxReceiver(directory: directory, syncInterval: self.settings.inboxSyncInterval, chunkSize: self.settings.inboxChunkSize, minFreeDisk: self.settings.inboxMinFreeDisk, logger: self.logger)
            }
            return try await withThrowingTaskGroup(of: Void.self) { tasks in
                defer { tasks.cancelAll() }
                tasks.addTask {
                    do {
                        for try await frame in inbound {
                            if Self.isFileData(frame) { await budget.acquire(frame.readableBytes) }
                            continuation.yield(.frame(frame))
                        }
                        continuation.yield(.closed(nil))
                    } catch {
                        continuation.yield(.closed(error))
                    }
                }
                try await outbound.write(self.envelope(.clientRegister(RegisterPayload(
                    key: self.settings.key, hostname: self.settings.hostname,
                    capabilities: (self.metrics == nil ? ["heartbeat"] : ["heartbeat", "metrics"]) + [SessionParameters.updateCapability, RegisterPayload.redirectCapability],
                    agentVersion: self.settings.agentVersion
                ))))
                tasks.addTask { [registerTimeout = self.settings.registerTimeout] in
                    try await Task.sleep(for: registerTimeout)
                    continuation.yield(.registerDeadline)
                }
                var ledger = MetricsLedger()
                do {
                    let outcome = try await self.handle(events, outbound: outbound, tasks: &tasks, continuation: continuation, inbox: inbox, budget: budget, ledger: &ledger)
                    await inbox?.close()
                    await self.metrics?.sessionEnded(unacknowledged: ledger.unanswered, logger: self.logger)
                    return outcome
                } catch {
                    // A file still arriving keeps its partial for a resume on the next connection.
                    await inbox?.close()
                    // Samples the server did not acknowledge go to the spool, to be sent again.
                    await self.metrics?.sessionEnded(unacknowledged: ledger.unanswered, logger: self.logger)
                    throw error
                }
            }
        }
    }

    /// A binary file data frame (its first byte is the file data kind).
    private static func isFileData(_ frame: ByteBuffer) -> Bool {
        frame.getInteger(at: frame.readerIndex, as: UInt8.self) == BinaryFrameKind.fileData.rawValue
    }

    private func handle(
        _ events: AsyncStream<Event>,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        tasks: inout ThrowingTaskGroup<Void, any Error>,
        continuation: AsyncStream<Event>.Continuation,
        inbox: InboxReceiver?,
        budget: ByteBudget,
        ledger: inout MetricsLedger
    ) async throws -> SessionOutcome {
        enum Phase { case registering, registered, unregistering }
        var phase = Phase.registering
        /// Shutdown asked for while the register reply was outstanding: unregister once it arrives.
        var shutdownWhileRegistering = false
        var seq: UInt64 = 0
        var lastAcked: UInt64 = 0
        /// Set while registered: the metrics pipeline hands samples to this session.
        var metricsSink: UInt64?
        defer { self.metrics?.detach(metricsSink) }
        /// The server's limit on frame payloads, from its register reply.
        var serverMaxFrameSize = Int.max
        /// The `message_id`s of the last METRICS frames sent, to recognise the server's refusals.
        var recentMetricsIDs: [String] = []
        let heartbeats = HeartbeatTimer()
        /// Closed when this connection stops taking samples: the replay then ends instead of
        /// handing over records that would only be put back.
        let replayGate = ReplayGate()
        defer { replayGate.close() }
        for await event in events {
            switch event {
            case .frame(let buffer):
                let envelope: Envelope
                do {
                    switch try InboundFrame.parse(buffer) {
                    case .envelope(let parsed):
                        envelope = parsed
                    case .fileData(let frame):
                        defer { budget.release(buffer.readableBytes) }
                        if phase == .registered, let answer = await inbox?.data(frame) {
                            try await outbound.write(self.envelope(answer))
                        }
                        continue
                    }
                } catch let error as ProtocolViolation {
                    throw SessionError.badFrame(error.description)
                }
                if case .serverResponse(let response) = envelope.body, !response.fatal, response.code != .unknownType,
                   let metrics = self.metrics, let id = response.inReplyTo, let answered = ledger.answer(id) {
                    // The answer to one of this session's samples (PROTOCOL.md §4.6).
                    await self.metricsAnswered(response, answered, metrics)
                    continue
                }
                switch (phase, envelope.body) {
                case (_, .serverResponse(let response)) where response.code == .redirect && (phase == .registering || response.fatal):
                    throw SessionError.redirected(to: response.redirectTo ?? "", message: response.message)
                case (.registering, .serverResponse(let response)):
                    guard response.success, let session = response.session else {
                        throw SessionError.refused(code: response.code, message: response.message)
                    }
                    phase = .registered
                    // The server's metrics interval, if it sets one; its absence restores the agent's own.
                    self.metrics?.follow(serverInterval: session.metricsInterval)
                    self.onRegistered(session)
                    if shutdownWhileRegistering {
                        // Registered after all: say goodbye, or the server would see a lost host.
                        continuation.yield(.shutdown)
                        continue
                    }
                    serverMaxFrameSize = session.maxFrameSize
                    metricsSink = self.metrics?.attach { document in
                        if case .enqueued = continuation.yield(.metrics(document)) { return true }
                        return false
                    }
                    let interval = self.heartbeatInterval(session.heartbeatInterval)
                    // The first heartbeat goes out at once: the server learns we are healthy without waiting an interval.
                    continuation.yield(.tick)
                    tasks.addTask(operation: heartbeats.schedule(every: interval) { continuation.yield(.tick) })
                case (.registered, .sessionUpdate(let session)):
                    // New parameters after a server reload, on this same connection (PROTOCOL.md §4.18).
                    serverMaxFrameSize = session.maxFrameSize
                    let interval = self.heartbeatInterval(session.heartbeatInterval)
                    let metricsInterval = self.metrics?.follow(serverInterval: session.metricsInterval)
                    self.logger.info("session parameters updated by the server", metadata: [
                        "heartbeat_interval": "\(interval)", "metrics_interval": "\(metricsInterval.map { "\($0)" } ?? "off")",
                    ])
                    // One heartbeat now, then the new rhythm: the server counts its deadlines from the update.
                    continuation.yield(.tick)
                    tasks.addTask(operation: heartbeats.schedule(every: interval) { continuation.yield(.tick) })
                case (.unregistering, .serverResponse(let response)) where !(response.inReplyTo.map(recentMetricsIDs.contains) ?? false):
                    // The answer to the unregister (a late answer to a sample is not it).
                    return .shutDown
                case (_, .serverResponse(let response)) where response.fatal:
                    throw SessionError.closed(code: response.code, reason: "\(response.code?.rawValue ?? "server"): \(response.message)")
                case (_, .serverResponse(let response)) where response.success && self.metrics != nil
                    && response.inReplyTo.map(recentMetricsIDs.contains) == true:
                    // The sample is on the server's disk (PROTOCOL.md §4.6).
                    self.metrics?.noteAcknowledged()
                case (_, .serverResponse(let response)) where !response.success && self.metrics != nil
                    && (response.inReplyTo.map(recentMetricsIDs.contains) ?? (response.code == .rateLimited)):
                    // A refused sample (rate_limited, invalid_field, …): the session goes on. Throttled,
                    // so a server that refuses every sample does not get a warning line per sample.
                    self.metrics?.noteRefused(code: response.code?.rawValue ?? "-", message: response.message, logger: self.logger)
                case (.registered, .serverResponse(let response)) where response.code == .unknownType && metricsSink != nil && !recentMetricsIDs.isEmpty:
                    // A server older than METRICS: every sample would be a counted protocol error, and
                    // after agents.max_protocol_errors the server would cut us off. Stop on this connection.
                    self.metrics?.detach(metricsSink)
                    metricsSink = nil
                    replayGate.close()
                    self.logger.warning("the server does not accept METRICS (unknown_type); metrics are off on this connection", metadata: ["message": "\(response.message.logEscaped)"])
                case (_, .serverResponse(let response)):
                    self.logger.warning("server reported an error", metadata: ["code": "\(response.code?.rawValue ?? "-")", "message": "\(response.message.logEscaped)"])
                case (_, .heartbeatAck(let ack)) where ack.seq <= seq:
                    lastAcked = max(lastAcked, ack.seq)
                case (.registered, .clientMessage(let message)), (.unregistering, .clientMessage(let message)):
                    // Logged and acknowledged, so the server stops delivering it; the agent acts on nothing it is told.
                    // Escaped (logEscaped): a message must not be able to forge log lines.
                    self.logger.info("message", metadata: [
                        "from": "\(envelope.senderID ?? "server")", "to": "\(message.recipient == nil ? "everyone" : "this host")",
                        "kind": "\((message.kind ?? "message").logEscaped)", "text": "\(message.content.logEscaped)",
                    ])
                    if let id = envelope.messageID {
                        try await outbound.write(self.envelope(.messageAck(MessageAckPayload(ackedMessageID: id, ackedSenderID: envelope.senderID))))
                    }
                case (.registered, .fileOffer(let offer)):
                    guard let inbox else {
                        self.logger.notice("refused a file (no --inbox)", metadata: ["from": "\((offer.sender ?? "server").logEscaped)", "filename": "\(offer.filename.logEscaped)", "size": "\(offer.size)"])
                        try await outbound.write(self.envelope(.fileReject(FileErrorPayload(transferID: offer.transferID, code: .filesNotAccepted, reason: "this agent does not accept files"))))
                        continue
                    }
                    for answer in await inbox.offer(offer) {
                        try await outbound.write(self.envelope(answer))
                    }
                default:
                    self.logger.debug("ignoring frame", metadata: ["type": "\(envelope.type.rawValue)"])
                }
            case .tick:
                guard phase == .registered else { continue }
                let unacknowledged = Int(clamping: seq - lastAcked)
                if unacknowledged >= self.settings.maxUnacknowledgedHeartbeats {
                    throw SessionError.serverSilent(unacknowledged: unacknowledged)
                }
                seq += 1
                try await outbound.write(self.envelope(.heartbeat(HeartbeatPayload(seq: seq))))
                self.logger.trace("heartbeat sent", metadata: ["seq": "\(seq)"])
            case .metrics(let document):
                // Only delivered while attached; a sample still queued when the session detached
                // (unregistering, or a server without METRICS) was counted as dropped by the detach.
                guard let metrics = self.metrics, phase == .registered, metricsSink != nil else { continue }
                metrics.taken()
                let messageID = UUID().uuidString.lowercased()
                let frame = self.envelope(.metrics(document), messageID: messageID)
                guard frame.readableBytes <= serverMaxFrameSize else {
                    metrics.noteOversized(size: frame.readableBytes, limit: serverMaxFrameSize, logger: self.logger)
                    continue
                }
                try await outbound.write(frame)
                metrics.noteSent()
                recentMetricsIDs.append(messageID)
                if recentMetricsIDs.count > 32 { recentMetricsIDs.removeFirst() }
                let overflow = ledger.sentLive(messageID, document, limit: metrics.spool?.settings.maxUnacknowledged ?? 256)
                if !overflow.isEmpty { await metrics.keep(overflow, because: .unacknowledged, logger: self.logger) }
                self.logger.trace("metrics sent", metadata: ["bytes": "\(frame.readableBytes)"])
                if !ledger.replayStarted, metrics.spool != nil {
                    // After the first live sample: the server's newest sample of this host is now
                    // newer than anything spooled, so every replayed one is back-fill to it.
                    ledger.replayStarted = true
                    tasks.addTask { [logger = self.logger] in
                        await metrics.replay({ id, document in
                            guard replayGate.isOpen else { return false }
                            if case .enqueued = continuation.yield(.replay(id, document)) { return true }
                            return false
                        }, logger: logger)
                    }
                }
            case .replay(let record, let document):
                guard let metrics = self.metrics, phase == .registered, metricsSink != nil else {
                    await self.metrics?.replayAnswered(record, retry: true)
                    continue
                }
                let messageID = UUID().uuidString.lowercased()
                let frame = self.envelope(.metrics(document), messageID: messageID)
                guard frame.readableBytes <= serverMaxFrameSize else {
                    metrics.noteOversized(size: frame.readableBytes, limit: serverMaxFrameSize, logger: self.logger)
                    await metrics.replayAnswered(record, retry: false)
                    continue
                }
                try await outbound.write(frame)
                metrics.noteReplayed()
                recentMetricsIDs.append(messageID)
                if recentMetricsIDs.count > 32 { recentMetricsIDs.removeFirst() }
                ledger.sentReplay(messageID, record: record)
            case .registerDeadline:
                if phase == .registering { throw SessionError.registerTimeout(self.settings.registerTimeout) }
            case .shutdown:
                if phase == .registering {
                    // The server may register us any moment: wait for its answer (bounded), then leave cleanly.
                    guard !shutdownWhileRegistering else { continue }
                    shutdownWhileRegistering = true
                    tasks.addTask { [timeout = self.settings.unregisterTimeout] in
                        try await Task.sleep(for: timeout)
                        continuation.yield(.lateRegisterReplyDeadline)
                    }
                    continue
                }
                guard phase == .registered else { continue }
                phase = .unregistering
                // No sample may follow the goodbye.
                self.metrics?.detach(metricsSink)
                replayGate.close()
                try await outbound.write(self.envelope(.clientUnregister(UnregisterPayload(reason: "agent shutting down"))))
                tasks.addTask { [timeout = self.settings.unregisterTimeout] in
                    try await Task.sleep(for: timeout)
                    continuation.yield(.unregisterDeadline)
                }
            case .lateRegisterReplyDeadline:
                // Once registered, the unregister has its own deadline; this one only ends the wait for the reply.
                if phase == .registering { return .shutDown }
            case .unregisterDeadline:
                self.logger.warning("server did not acknowledge the unregister in time")
                return .shutDown
            case .closed(let error):
                if phase == .unregistering { return .shutDown }
                throw SessionError.closed(code: nil, reason: error.map { "\($0)" } ?? "by the server")
            }
        }
        throw SessionError.closed(code: nil, reason: "event stream ended")
    }

    /// The server's interval, clamped to the settings' range; a nonsense value cannot stall or spin the agent.
    private func heartbeatInterval(_ seconds: Double) -> Duration {
        guard seconds.isFinite, seconds > 0 else { return self.settings.defaultHeartbeatInterval }
        let range = self.settings.heartbeatIntervalRange
        let bounded = min(max(seconds, range.lowerBound.seconds), range.upperBound.seconds)
        return .milliseconds(Int64(bounded * 1000))
    }

    private func envelope(_ body: Envelope.Body, messageID: String = UUID().uuidString.lowercased()) -> ByteBuffer {
        Envelope(body, senderID: self.settings.hostname, timestamp: Date().timeIntervalSince1970, messageID: messageID)
            .encodedFrame()
    }
}
