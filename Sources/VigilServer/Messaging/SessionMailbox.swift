import Foundation
import Logging
import NIOCore
import VigilProtocol
import VigilStore

/// One registered connection's side of messaging: what its client sends, and delivery to it.
/// Lives on the connection's event loop; the message service reaches it through a ``SessionRef``.
///
/// Delivery follows the store's row order. After registration the mailbox reads the client's mail
/// from the store (everything after its cursor), then takes live pushes from the writer; pushes
/// that arrive while it reads are not sent but noted, and the read goes on until it has passed
/// them, so nothing is lost or reordered. At most `messages.max_in_flight` messages are sent and
/// not yet acknowledged; past that, pushes are only noted and the mailbox catches up from the
/// store once the client's acknowledgements bring the count down to half. A socket that cannot take
/// more (`!channel.isWritable`: the client does not read) counts as a full window too, so a
/// client that stops reading pins no more than what the socket buffers hold.
///
/// A connection registered with capability `send_only` (``RegisterPayload/sendOnlyCapability``)
/// only sends: it gets no mail, is not in the directory of online clients and supersedes nobody.
///
/// Per-sender order across temporary refusals: once a message is refused for a passing reason
/// (`rate_limited`, `server_busy`), every later message on the connection is refused with the same
/// code until the client sends the refused message again, so nothing overtakes it.
final class SessionMailbox {
    private enum Mode {
        /// Before `start()`.
        case idle
        /// Waiting for the writer to create or refresh the mailbox.
        case starting
        /// A store read is under way.
        case reading
        /// Caught up: live pushes are sent as they come.
        case live
        /// `max_in_flight` reached, or the socket is full: waiting for acknowledgements (or
        /// writability) before reading again.
        case stalled
        /// Capability `send_only`: this connection only sends; no delivery, no presence.
        case sendOnly
        /// The connection closed (or this client may not use messaging).
        case stopped
    }

    private struct InFlight {
        let rowID: Int64
        let messageID: String
        let sender: String
    }

    /// The message refused for a passing reason that every later message waits for.
    private struct Blocked {
        let messageID: String
        let code: ErrorCode
    }

    private let service: MessageService
    /// Dropped at `stop()`: it holds the channel handler context, which holds the handler, which
    /// holds this mailbox; keeping it would keep the closed connection alive.
    private var link: SessionLink?
    private let clientID: String
    private let kind: ClientKind
    private let connectionID: UInt64
    private let eventLoop: any EventLoop
    private let capabilities: [String]
    /// Closes this connection from any thread (used when a newer connection takes the same user name).
    private let handle: ConnectionHandle
    private var logger: Logger
    private var ref: SessionRef?
    private var mode = Mode.idle
    /// Every message of this client's mail up to this row has been sent (or acknowledged before).
    private var readPosition: Int64 = 0
    /// Sent and not yet acknowledged, in row order.
    private var inFlight = CircularBuffer<InFlight>()
    /// The highest row pushed live but not sent (while reading or stalled).
    private var missedLive: Int64 = 0
    /// Another server stored mail while a read was under way: read once more when it ends.
    private var wokenDuringRead = false
    /// The cursor last recorded in the service's cursor book.
    private var recordedCursor: Int64 = 0
    private let maxInFlight: Int
    /// Reading resumes when the in-flight count is down to this.
    private let resumeAt: Int
    /// Set after a temporary refusal: later messages are refused until this one is sent again.
    private var blocked: Blocked?

    init(service: MessageService, link: SessionLink, handle: ConnectionHandle, capabilities: [String], logger: Logger) {
        self.service = service
        self.link = link
        self.clientID = link.clientID
        self.kind = link.kind
        self.connectionID = link.connectionID
        self.eventLoop = link.context.eventLoop
        self.handle = handle
        self.capabilities = capabilities
        self.logger = logger
        self.maxInFlight = service.settings.messageMaxInFlight
        self.resumeAt = service.settings.messageMaxInFlight / 2
    }

    // MARK: Lifecycle

    /// Called once the register reply is written: joins presence and starts delivery.
    func start() {
        guard case .idle = self.mode else { return }
        guard self.clientID != MessageRules.serverID else {
            // An agent literally named `server` keeps its liveness and metrics, but the name is
            // the server's own sender id: it cannot take part in messaging.
            self.logger.warning("client id \(MessageRules.serverID) is reserved for the server's messages; messaging is off for this connection")
            self.mode = .stopped
            return
        }
        let ref = SessionRef(connectionID: self.connectionID, eventLoop: self.eventLoop, mailbox: self)
        self.ref = ref
        if self.isSendOnly {
            // Known from now on (others may answer it), but no delivery and no presence. Its
            // mailbox request does not refresh the notices subscription of its ordinary connections.
            self.mode = .sendOnly
            self.requestMailbox()
            self.logger.debug("send-only connection: no mail is delivered to it and it is not listed as online")
            return
        }
        self.mode = .starting
        // The mailbox request first, then presence: a client that sees this one online and
        // writes to it queues its message after this registration, so it is known by then.
        self.requestMailbox()
        let entry = ClientDirectory.Entry(clientID: self.clientID, kind: self.kind, since: ServerClock.unixNow, session: ref, handle: self.handle)
        if let previous = self.service.directory.join(entry) {
            // Newest wins (agents are also superseded by the liveness tracker; a second close is ignored).
            previous.handle.close(.superseded, "another connection registered as \(self.clientID); closing this one")
        }
    }

    /// The connection closed.
    func stop() {
        self.link = nil
        self.ref = nil  // it holds this mailbox
        switch self.mode {
        case .idle, .stopped, .sendOnly:
            self.mode = .stopped
            return
        case .starting, .reading, .live, .stalled:
            break
        }
        self.mode = .stopped
        self.service.directory.leave(clientID: self.clientID, connectionID: self.connectionID)
        if !self.inFlight.isEmpty {
            self.logger.debug("messages sent and not acknowledged; they are sent again on the next connection", metadata: ["count": "\(self.inFlight.count)"])
        }
        self.service.flushCursorsSoon()
    }

    private func requestMailbox() {
        guard let ref = self.ref else { return }
        let registration = MailboxRegistration(
            clientID: self.clientID, kind: self.kind.rawValue,
            notices: self.capabilities.contains(RegisterPayload.noticesCapability), at: Date(),
            refreshesExisting: !self.isSendOnly
        )
        do {
            try self.service.queue.enqueue(.mailbox(registration, ref))
        } catch {
            self.logger.notice("mailbox not opened: the message service has stopped")
        }
    }

    // MARK: From the client

    /// A `CLIENT_MESSAGE`, `MESSAGE_ACK` or `LIST_CLIENTS` from this client.
    func receive(_ envelope: Envelope, messageID: String?) throws(ProtocolViolation) {
        switch envelope.body {
        case .clientMessage(let payload):
            self.accept(payload, envelope: envelope, messageID: messageID)
        case .messageAck(let ack):
            self.acknowledge(ack.ackedMessageID, sender: ack.ackedSenderID)
        case .listClients:
            self.link?.send(.clientList(self.service.directory.list()), messageID: UUID().uuidString.lowercased())
        default:
            throw ProtocolViolation(.unexpectedType, "\(envelope.type.rawValue) is not a messaging type")
        }
    }

    /// Checks a message and queues it for the writer, which acknowledges it once stored.
    private func accept(_ payload: ClientMessagePayload, envelope: Envelope, messageID: String?) {
        do throws(MessageRefusal) {
            guard let ref = self.ref, self.mode != .stopped else {
                throw MessageRefusal(.invalid, "client id \(MessageRules.serverID) is reserved for the server; this connection cannot send messages")
            }
            guard let messageID else {
                throw MessageRefusal(.invalid, envelope.messageID == nil
                    ? "message_id is required on CLIENT_MESSAGE: the server acknowledges and deduplicates messages by it (use a UUID)"
                    : "message_id is longer than \(ProtocolLimits.maxMessageIDBytes) bytes")
            }
            if let blocked = self.blocked {
                guard blocked.messageID == messageID else {
                    throw MessageRefusal(blocked.code == .rateLimited ? .rateLimited : .busy, "message \(messageID.debugDescription) was not stored: message \(blocked.messageID.debugDescription), sent before it, was refused (\(blocked.code.rawValue)); send that one again first, then this one (messages from one connection are stored in the order sent)")
                }
                // The refused message is back: normal processing resumes with it.
                self.blocked = nil
            }
            try self.service.rules.check(content: payload.content, recipient: payload.recipient)
            if self.service.rateLimiter.take(self.clientID) != nil {
                let limits = self.service.rateLimiter.limits
                throw MessageRefusal(.rateLimited, "\(self.clientID) sends more than \(limits.rate) messages/s (burst \(Int(limits.burst))); messages.rate_limit; message \(messageID.debugDescription) was not stored")
            }
            let sentAt = envelope.timestamp.flatMap { $0.isFinite && $0 > 0 ? Date(timeIntervalSince1970: $0) : nil }
            // `kind` and `stored_at` are the server's to set: a client cannot forge a notice.
            let message = NewMessage(messageID: messageID, sender: self.clientID, recipient: payload.recipient, content: payload.content, seq: payload.seq, sentAt: sentAt, storedAt: Date())
            do throws(MessageQueue.Refusal) {
                try self.service.queue.enqueue(.message(message, .session(ref, inReplyTo: messageID)))
            } catch {
                throw MessageService.refusal(for: error)
            }
        } catch {
            if let messageID, self.blocked == nil, error.code == .rateLimited || error.code == .serverBusy {
                self.blocked = Blocked(messageID: messageID, code: error.code)
            }
            self.logger.log(level: error.kind == .rateLimited ? .debug : .notice, "message refused", metadata: ["code": "\(error.code.rawValue)", "detail": "\(error.detail.logEscaped)"])
            self.link?.respond(ServerResponsePayload(success: false, message: error.detail, code: error.code, inReplyTo: messageID))
        }
    }

    /// The client acknowledges a message delivered to it: the cursor moves to just below the
    /// oldest message still unacknowledged.
    ///
    /// A message id is unique per sender only: with `sender` the acknowledgement clears exactly
    /// that sender's message; without it, the oldest one in flight with that id.
    private func acknowledge(_ messageID: String, sender: String?) {
        let index = self.inFlight.firstIndex { $0.messageID == messageID && (sender == nil || $0.sender == sender) }
        guard let index else {
            // A late or repeated acknowledgement (after a redelivery, say): nothing to do.
            self.logger.debug("acknowledgement for no message in flight", metadata: ["message_id": "\(messageID.logEscaped)", "sender": "\(sender.logEscaped)"])
            return
        }
        self.inFlight.remove(at: index)
        let cursor = self.inFlight.first.map { $0.rowID - 1 } ?? self.readPosition
        if cursor > self.recordedCursor {
            self.recordedCursor = cursor
            self.service.cursors.advance(self.clientID, to: cursor)
        }
        if case .stalled = self.mode, self.inFlight.count <= self.resumeAt, self.isWritable {
            self.startReading()
        }
    }

    /// The socket's writability changed (from the session handler's `channelWritabilityChanged`):
    /// a stalled mailbox catches up once the socket takes data again and the window has room.
    func writabilityChanged() {
        if case .stalled = self.mode, self.isWritable, self.inFlight.count <= self.resumeAt {
            self.startReading()
        }
    }

    private var isSendOnly: Bool { self.capabilities.contains(RegisterPayload.sendOnlyCapability) }

    /// Messages sent and not yet acknowledged (for tests and diagnostics).
    var inFlightCount: Int { self.inFlight.count }

    /// Whether the socket takes more now; a client that does not read fills it and stalls delivery.
    private var isWritable: Bool {
        self.link?.context.channel.isWritable ?? false
    }

    // MARK: From the writer

    /// One group commit's share for this connection.
    func apply(_ update: SessionUpdate) {
        guard let context = self.link?.context, self.mode != .stopped else { return }
        for answer in update.answers {
            context.write(NIOAny(answer), promise: nil)
        }
        if let failed = update.failedMessageID {
            self.storeFailed(failed, context: context)
        }
        if let mailbox = update.mailbox {
            self.opened(mailbox)
        }
        if update.mailboxFailed {
            self.retryLater { $0.requestMailbox() }
        }
        for delivery in update.deliveries {
            self.push(delivery)
        }
        context.flush()
    }

    /// Another server sharing the store stored mail up to `rowID` that may be this client's
    /// (``MailWakeup``): read the mailbox from where delivery stands. At most one extra read per
    /// wake-up, whether or not the row was this client's.
    func wake(upTo rowID: Int64) {
        guard rowID > self.readPosition else { return }  // already sent (this server's own push)
        switch self.mode {
        case .live: self.startReading()
        case .reading: self.wokenDuringRead = true
        default: break  // starting (it reads when opened), stalled (it reads when writable), stopped
        }
    }

    /// The mailbox exists: deliver everything after its cursor (or after the cursor this server
    /// recorded, when acknowledgements have not reached the store yet).
    private func opened(_ mailbox: Mailbox) {
        guard case .starting = self.mode else { return }
        let start = max(mailbox.deliveredThrough, self.service.cursors.cursor(of: self.clientID) ?? 0)
        self.readPosition = start
        self.recordedCursor = start
        self.startReading()
    }

    /// The writer could not store `messageID` (refused `server_busy`, with the rest of its batch):
    /// this connection's messages still waiting behind it are refused too, in order, and later
    /// ones until the client sends `messageID` again, so none of them is stored before it.
    private func storeFailed(_ messageID: String, context: ChannelHandlerContext) {
        if self.blocked == nil {
            self.blocked = Blocked(messageID: messageID, code: .serverBusy)
        }
        for request in self.service.queue.removeMessages(of: self.connectionID) {
            guard case .message(let message, .session(_, let inReplyTo)) = request else { continue }
            let refusal = MessageRefusal(.failed, "message \(message.messageID.debugDescription) was not stored: message \(messageID.debugDescription), sent before it, could not be stored; send that one again first, then this one")
            context.write(NIOAny(MessageService.refusalFrame(refusal, inReplyTo: inReplyTo)), promise: nil)
        }
    }

    /// A message stored just now for this client.
    private func push(_ delivery: MessageDelivery) {
        guard delivery.rowID > self.readPosition else { return }  // already sent by a read
        if case .live = self.mode, self.inFlight.count < self.maxInFlight, self.isWritable {
            self.send(delivery)
            return
        }
        // Not sent now: a later read from the store fetches it, in order.
        self.missedLive = max(self.missedLive, delivery.rowID)
        if case .live = self.mode {
            self.mode = .stalled
        }
    }

    private func send(_ delivery: MessageDelivery) {
        self.link?.context.write(NIOAny(delivery.frame), promise: nil)
        self.inFlight.append(InFlight(rowID: delivery.rowID, messageID: delivery.messageID, sender: delivery.sender))
        self.readPosition = delivery.rowID
    }

    // MARK: Reading from the store

    private func startReading() {
        let room = self.maxInFlight - self.inFlight.count
        guard room > 0, self.isWritable, let ref = self.ref else {
            self.mode = .stalled
            return
        }
        self.mode = .reading
        self.missedLive = 0
        self.wokenDuringRead = false
        let limit = min(room, self.service.settings.messageMaxBatch)
        let (service, clientID, after) = (self.service, self.clientID, self.readPosition)
        Task {
            let result: Result<[MessageDelivery], any Error>
            do {
                result = .success(try await service.readMail(for: clientID, after: after, limit: limit))
            } catch {
                result = .failure(error)
            }
            ref.run { $0.readCompleted(result, limit: limit) }
        }
    }

    private func readCompleted(_ result: Result<[MessageDelivery], any Error>, limit: Int) {
        guard case .reading = self.mode else { return }  // stopped meanwhile
        switch result {
        case .failure(let error):
            self.logger.warning("could not read mail; retrying", metadata: ["error": "\(error)"])
            self.mode = .stalled
            self.retryLater { mailbox in
                if case .stalled = mailbox.mode { mailbox.startReading() }
            }
        case .success(let deliveries):
            for delivery in deliveries where delivery.rowID > self.readPosition {
                self.send(delivery)
            }
            self.link?.context.flush()
            let more = deliveries.count >= limit || self.missedLive > self.readPosition || self.wokenDuringRead
            if !more {
                self.mode = .live
            } else if self.inFlight.count < self.maxInFlight, self.isWritable {
                self.startReading()
            } else {
                self.mode = .stalled
            }
        }
    }

    private func retryLater(_ body: @escaping (SessionMailbox) -> Void) {
        self.eventLoop.assumeIsolated().scheduleTask(in: MessageService.retryDelay.timeAmount) { [weak self] in
            guard let self, self.mode != .stopped else { return }
            body(self)
        }
    }
}

@available(*, unavailable)
extension SessionMailbox: Sendable {}
