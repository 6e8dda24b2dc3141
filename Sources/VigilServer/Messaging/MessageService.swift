import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import VigilProtocol
import VigilStore

/// Stores and routes messages: private and broadcast, between agents, people's tools and the server.
///
/// Connections hand what clients send to one queue; a single writer task takes everything that
/// waited (up to `messages.max_batch` messages), stores it in one transaction (group commit), then
/// acknowledges each message to its sender and pushes the new rows to the recipients that are
/// online. Nothing is acknowledged before it is stored, and the writer's order is the row order,
/// which is the delivery order. Work happens off the event loops; each connection's share is
/// handed to its loop in one hop per batch.
///
/// Delivery state lives in each connection's ``SessionMailbox``; cursors (how far each client has
/// acknowledged) are recorded in ``CursorBook`` and persisted by the writer in batches.
///
/// At graceful shutdown (after the listener has closed every connection) the queue is closed and
/// the writer stores whatever was accepted, and the last cursors, before `run()` returns.
public final class MessageService: Service, Sendable {
    let settings: ServerSettings
    let logger: Logger
    let store: any MessageStore
    let queue: MessageQueue
    /// Who is online.
    let directory = ClientDirectory()
    let cursors = CursorBook()
    let rateLimiter: MessageRateLimiter
    let rules: MessageRules
    /// The live stream: told of stored messages after each commit (it only enqueues).
    let live: LiveHub?
    /// Told of writes that failed for space, so a full disk is logged once a minute, not per batch.
    let storage: StorageCondition?
    /// A session's retry delay after a failed store read or mailbox write.
    static let retryDelay: Duration = .seconds(1)

    /// Whether this server leads its cluster: retention runs once per cluster, on the leader.
    let leader: LeaderGate

    public init(store: any MessageStore, settings: ServerSettings, logger: Logger, live: LiveHub? = nil, storage: StorageCondition? = nil, leader: LeaderGate = LeaderGate()) {
        self.leader = leader
        self.storage = storage
        self.live = live
        self.settings = settings
        self.logger = logger
        self.store = store
        self.queue = MessageQueue(maxPending: settings.messageMaxPending)
        self.rateLimiter = MessageRateLimiter(rate: settings.messageRateLimit, burst: settings.messageRateBurst)
        self.rules = MessageRules(maxContentBytes: settings.messageMaxContentBytes)
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withDiscardingTaskGroup { group in
                    // Not cancelled by graceful shutdown: it ends when the queue is closed and drained.
                    group.addTask { await self.writeLoop() }
                    group.addTask {
                        await cancelWhenGracefulShutdown {
                            await withDiscardingTaskGroup { timers in
                                timers.addTask { await Self.every(self.settings.persistInterval) { self.flushCursorsSoon() } }
                                timers.addTask { await Self.every(self.settings.retentionCheckInterval) { await self.enforceRetention() } }
                                // Mail other servers store for clients connected here (a store shared by a cluster).
                                if let wakeups = self.store.mailWakeups() {
                                    timers.addTask { for await wakeup in wakeups { self.wake(wakeup) } }
                                }
                            }
                        }
                    }
                }
            } onCancel: {
                self.queue.close()
            }
        } onGracefulShutdown: {
            self.queue.close()
        }
    }

    /// Clients online now (both kinds).
    public var onlineCount: Int { self.directory.count }

    /// Messages accepted and not yet stored.
    public var pendingCount: Int { self.queue.pendingMessages }

    // MARK: Writer

    private func writeLoop() async {
        for await _ in self.queue.wakeups {
            if !(await self.drain()) {
                // A failed write: what still waits (and the notices put back) would otherwise wait
                // for the next enqueue; try again after a pause (a no-op once the queue is closed).
                try? await Task.sleep(for: Self.retryDelay)
                self.queue.nudge()
            }
        }
        // Closed (shutdown) or cancelled: store what is left, then the last cursors.
        await self.drain()
    }

    /// Writes batches until nothing waits. Returns `false` when a write failed (the caller retries later).
    @discardableResult
    private func drain() async -> Bool {
        while true {
            let requests = self.queue.take(maxMessages: self.settings.messageMaxBatch)
            guard !requests.isEmpty || self.cursors.hasDirty else { return true }
            guard await self.commit(requests) else { return false }
        }
    }

    /// Stores one batch and the cursors that moved, in one transaction, then answers and routes.
    ///
    /// - Returns: `false` when the store failed (every request in the batch was answered with a failure).
    func commit(_ requests: [MessageQueue.Request]) async -> Bool {
        let cursors = self.cursors.takeDirty()
        let now = Date()
        var writes: [MessageWrite] = []
        writes.reserveCapacity(requests.count + cursors.count)
        for request in requests {
            switch request {
            case .message(var message, _):
                message.storedAt = now
                writes.append(.message(message))
            case .notice(let content, let at):
                writes.append(.notice(content: content, at: at))
            case .mailbox(let registration, _):
                writes.append(.mailbox(registration))
            }
        }
        for (clientID, cursor) in cursors.sorted(by: { $0.key < $1.key }) {
            writes.append(.cursor(clientID: clientID, deliveredThrough: cursor))
        }
        // In a task of its own: a cancelled server must still write what it acknowledged nothing for
        // yet, and GRDB refuses to start work in a cancelled task.
        let store = self.store
        let frozen = writes
        let result = await Task { try await store.write(frozen) }.result
        switch result {
        case .success(let outcomes) where outcomes.count == writes.count:
            self.dispatch(requests, Array(outcomes.prefix(requests.count)))
            return true
        case .success(let outcomes):
            self.logger.error("message store answered the wrong number of outcomes", metadata: ["writes": "\(writes.count)", "outcomes": "\(outcomes.count)"])
            self.fail(requests, cursors: cursors, error: MessageRefusal(.failed, "the store answered \(outcomes.count) outcomes for \(writes.count) writes"))
            return false
        case .failure(let error):
            if self.storage?.report(error, writing: "messages (\(requests.count) requests refused)") != true {
                self.logger.error("could not store messages", metadata: ["requests": "\(requests.count)", "error": "\(error)"])
            }
            self.fail(requests, cursors: cursors, error: error)
            return false
        }
    }

    /// Answers every request of a batch that could not be stored; nothing of it was acknowledged.
    /// Notices go back in front of the queue for the next try (nobody would send them again).
    private func fail(_ requests: [MessageQueue.Request], cursors: [String: Int64], error: any Error) {
        self.cursors.restore(cursors)
        var updates: [UInt64: (SessionRef, SessionUpdate)] = [:]
        var notices: [MessageQueue.Request] = []
        for request in requests {
            switch request {
            case .message(let message, .session(let ref, let inReplyTo)):
                let refusal = MessageRefusal(.failed, "the server could not store message \(message.messageID.debugDescription) now; send it again later")
                updates[ref.connectionID, default: (ref, SessionUpdate())].1.answers.append(Self.refusalFrame(refusal, inReplyTo: inReplyTo))
                // The connection's later messages wait for this one's resend (per-sender order).
                if updates[ref.connectionID]?.1.failedMessageID == nil {
                    updates[ref.connectionID]?.1.failedMessageID = message.messageID
                }
            case .message(_, .waiter(let reply)):
                reply(.failure(error))
            case .notice:
                notices.append(request)
            case .mailbox(_, let ref):
                updates[ref.connectionID, default: (ref, SessionUpdate())].1.mailboxFailed = true
            }
        }
        if !notices.isEmpty {
            self.logger.warning("server notices not stored yet; retrying", metadata: ["count": "\(notices.count)"])
            self.queue.putBack(notices)
        }
        for (ref, update) in updates.values {
            ref.run { $0.apply(update) }
        }
    }

    /// After a commit: acknowledgements and refusals to senders, mailboxes to new sessions, new
    /// rows to the recipients online, one hop per connection.
    private func dispatch(_ requests: [MessageQueue.Request], _ outcomes: [MessageWriteOutcome]) {
        var updates: [UInt64: (SessionRef, SessionUpdate)] = [:]
        var routed: [StoredMessage] = []
        for (request, outcome) in zip(requests, outcomes) {
            switch (request, outcome) {
            case (.message(let message, let origin), _):
                if case .stored(let row) = outcome { routed.append(row) }
                switch origin {
                case .session(let ref, let inReplyTo):
                    updates[ref.connectionID, default: (ref, SessionUpdate())].1.answers.append(Self.answerFrame(outcome, for: message, inReplyTo: inReplyTo))
                case .waiter(let reply):
                    reply(.success(outcome))
                }
                self.log(outcome, message)
            case (.notice, .notices(let rows)):
                routed.append(contentsOf: rows)
            case (.mailbox(_, let ref), .mailbox(let mailbox)):
                updates[ref.connectionID, default: (ref, SessionUpdate())].1.mailbox = mailbox
            case (.notice, _), (.mailbox, _):
                self.logger.error("message store answered an outcome of the wrong kind", metadata: ["outcome": "\(outcome)"])
            }
        }
        if !routed.isEmpty {
            self.live?.publishMessages(routed)
            // Everyone online, only when there is a broadcast (a directory of 100,000 agents is not copied per private message).
            let everyone = routed.contains { $0.recipient == nil } ? self.directory.all() : []
            let allocator = ByteBufferAllocator()
            for row in routed {
                let delivery = MessageDelivery(row, allocator: allocator)
                if let recipient = row.recipient {
                    if let entry = self.directory.entry(for: recipient) {
                        updates[entry.session.connectionID, default: (entry.session, SessionUpdate())].1.deliveries.append(delivery)
                    }
                } else {
                    for entry in everyone where entry.clientID != row.sender {
                        updates[entry.session.connectionID, default: (entry.session, SessionUpdate())].1.deliveries.append(delivery)
                    }
                }
            }
        }
        for (ref, update) in updates.values {
            ref.run { $0.apply(update) }
        }
    }

    private func log(_ outcome: MessageWriteOutcome, _ message: NewMessage) {
        switch outcome {
        case .duplicate(let row):
            // Client-controlled strings escaped (logEscaped): they must not forge log lines.
            self.logger.debug("message resent; already stored", metadata: ["sender": "\(message.sender.logEscaped)", "message_id": "\(message.messageID.logEscaped)", "row": "\(row.id)"])
        case .unknownRecipient:
            self.logger.info("message refused: unknown recipient", metadata: ["sender": "\(message.sender.logEscaped)", "recipient": "\(message.recipient.logEscaped)", "message_id": "\(message.messageID.logEscaped)"])
        default:
            break
        }
    }

    /// `MESSAGE_ACK` for a stored or duplicate message; a refusal for an unknown recipient.
    static func answerFrame(_ outcome: MessageWriteOutcome, for message: NewMessage, inReplyTo: String?) -> ByteBuffer {
        switch outcome {
        case .stored(let row):
            return Envelope(.messageAck(MessageAckPayload(ackedMessageID: row.messageID, status: MessageAckPayload.stored)), senderID: MessageRules.serverID, timestamp: ServerClock.unixNow).encodedFrame()
        case .duplicate(let row):
            return Envelope(.messageAck(MessageAckPayload(ackedMessageID: row.messageID, status: MessageAckPayload.duplicate)), senderID: MessageRules.serverID, timestamp: ServerClock.unixNow).encodedFrame()
        case .unknownRecipient:
            let recipient = message.recipient ?? "?"
            return Self.refusalFrame(MessageRefusal(.unknownRecipient, "no client named \(recipient.debugDescription) has ever registered with this server; message \(message.messageID) was not stored"), inReplyTo: inReplyTo)
        case .notices, .mailbox, .cursor:
            return Self.refusalFrame(MessageRefusal(.failed, "the server could not store message \(message.messageID) now; send it again later"), inReplyTo: inReplyTo)
        }
    }

    /// A non-fatal `SERVER_RESPONSE` refusing a message.
    static func refusalFrame(_ refusal: MessageRefusal, inReplyTo: String?) -> ByteBuffer {
        let payload = ServerResponsePayload(success: false, message: refusal.detail, code: refusal.code, inReplyTo: inReplyTo)
        return Envelope(.serverResponse(payload), senderID: MessageRules.serverID, timestamp: ServerClock.unixNow, messageID: UUID().uuidString.lowercased()).encodedFrame()
    }

    // MARK: Reading, cursors, retention

    /// Wakes the recipients of mail another server stored, if they are connected here.
    func wake(_ wakeup: MailWakeup) {
        switch wakeup {
        case .clients(let clients, let rowID):
            for client in clients {
                self.directory.entry(for: client)?.session.run { $0.wake(upTo: rowID) }
            }
        case .everyone(let rowID):
            for entry in self.directory.all() {
                entry.session.run { $0.wake(upTo: rowID) }
            }
        }
    }

    /// A client's mail after a row, encoded for sending (off the event loop).
    func readMail(for clientID: String, after: Int64, limit: Int) async throws -> [MessageDelivery] {
        let allocator = ByteBufferAllocator()
        return try await self.store.mail(for: clientID, after: after, limit: limit).map { MessageDelivery($0, allocator: allocator) }
    }

    /// A connection ended: persist its cursor soon, so a reconnect elsewhere (or a restart) starts from it.
    func flushCursorsSoon() {
        if self.cursors.hasDirty { self.queue.nudge() }
    }

    private func enforceRetention() async {
        guard self.leader.isLeader else { return }
        let now = Date()
        do {
            let result = try await self.store.deleteExpiredMessages(
                deliveredBefore: now.addingTimeInterval(-self.settings.messageRetention.seconds),
                undeliveredBefore: now.addingTimeInterval(-self.settings.messageUndeliveredRetention.seconds)
            )
            if result.delivered > 0 {
                self.logger.info("retention: deleted delivered messages", metadata: ["count": "\(result.delivered)", "retention": "\(self.settings.messageRetention.compactDescription)"])
            }
            if result.undelivered > 0 {
                self.logger.warning("retention: deleted messages never delivered", metadata: ["count": "\(result.undelivered)", "undelivered_retention": "\(self.settings.messageUndeliveredRetention.compactDescription)"])
            }
        } catch {
            self.logger.warning("message retention pass failed", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `body` every `interval` until the task is cancelled.
    private static func every(_ interval: Duration, _ body: () async -> Void) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            await body()
        }
    }
}
