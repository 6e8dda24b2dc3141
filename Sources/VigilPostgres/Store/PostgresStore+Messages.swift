import Foundation
import PostgresNIO
import VigilStore

/// Messages and mailboxes (tables `messages`, `mailboxes`): the ``MessageStore`` part.
///
/// Row ids are delivery cursors, so every server must see them commit in id order: a cursor at 10
/// must never pass a 9 still uncommitted elsewhere. Identity values are drawn before commit, in no
/// guaranteed order across transactions, so every write batch takes one advisory transaction lock;
/// writes arrive in group commits, so the lock is taken once per batch, not per message.
extension PostgresStore {
    public func write(_ writes: [MessageWrite]) async throws -> [MessageWriteOutcome] {
        guard !writes.isEmpty else { return [] }
        return try await self.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.messageOrderLock))", logger: self.logger)
            var outcomes: [MessageWriteOutcome] = []
            outcomes.reserveCapacity(writes.count)
            var known: [String: Bool] = [:]
            for write in writes {
                switch write {
                case .message(let message):
                    outcomes.append(try await self.insert(message, known: &known, on: connection))
                case .notice(let content, let at):
                    var stored: [StoredMessage] = []
                    let subscribers = try await connection.query(
                        "SELECT client_id FROM mailboxes WHERE notices ORDER BY client_id", logger: self.logger).rows()
                    for subscriber in subscribers {
                        let recipient: String = try subscriber.value("client_id")
                        let notice = NewMessage(messageID: UUID().uuidString.lowercased(), sender: Self.serverSender, recipient: recipient,
                                                content: content, kind: Self.noticeKind, storedAt: at)
                        if case .stored(let row) = try await self.insert(notice, known: &known, on: connection) { stored.append(row) }
                    }
                    outcomes.append(.notices(stored))
                case .mailbox(let registration):
                    outcomes.append(.mailbox(try await self.ensure(registration, on: connection)))
                    known[registration.clientID] = true
                case .cursor(let clientID, let deliveredThrough):
                    try await connection.query(
                        "UPDATE mailboxes SET delivered_through = GREATEST(delivered_through, \(deliveredThrough)) WHERE client_id = \(clientID)",
                        logger: self.logger)
                    outcomes.append(.cursor)
                }
            }
            // Wake the servers the recipients are connected to, at commit (NOTIFY waits for it).
            var maxRowID: Int64 = 0
            var recipients: Set<String> = []
            var broadcast = false
            for outcome in outcomes {
                let rows: [StoredMessage]
                switch outcome {
                case .stored(let row): rows = [row]
                case .notices(let notices): rows = notices
                default: rows = []
                }
                for row in rows {
                    maxRowID = max(maxRowID, row.id)
                    if let recipient = row.recipient { recipients.insert(recipient) } else { broadcast = true }
                }
            }
            if maxRowID > 0 {
                for payload in Self.wakeupPayloads(maxRowID: maxRowID, recipients: recipients, broadcast: broadcast) {
                    try await connection.query("SELECT pg_notify(\(Self.mailChannel), \(payload))", logger: self.logger)
                }
            }
            return outcomes
        }
    }

    public func mailbox(clientID: String) async throws -> Mailbox? {
        try await self.client.query("SELECT * FROM mailboxes WHERE client_id = \(clientID)", logger: self.logger)
            .rows().first.map(Self.mailbox(from:))
    }

    public func mail(for clientID: String, after: Int64, limit: Int) async throws -> [StoredMessage] {
        guard limit > 0, let mailbox = try await self.mailbox(clientID: clientID) else { return [] }
        let broadcastAfter = max(after, mailbox.firstID)
        return try await self.client.query("""
            (SELECT * FROM messages WHERE recipient = \(clientID) AND id > \(after) ORDER BY id LIMIT \(Int64(limit)))
            UNION ALL
            (SELECT * FROM messages WHERE recipient IS NULL AND id > \(broadcastAfter) AND sender <> \(clientID) ORDER BY id LIMIT \(Int64(limit)))
            ORDER BY id LIMIT \(Int64(limit))
            """, logger: self.logger).rows().map(Self.message(from:))
    }

    public func conversation(_ query: ConversationQuery) async throws -> [StoredMessage] {
        guard query.limit > 0 else { return [] }
        let before = query.before ?? Int64.max
        let limit = Int64(query.limit)
        if let client = query.client {
            if let peer = query.peer {
                return try await self.client.query("""
                    SELECT * FROM messages
                    WHERE ((sender = \(client) AND recipient = \(peer)) OR (sender = \(peer) AND recipient = \(client))) AND id < \(before)
                    ORDER BY id DESC LIMIT \(limit)
                    """, logger: self.logger).rows().map(Self.message(from:))
            }
            let firstID = try await self.mailbox(clientID: client)?.firstID ?? Int64.max
            return try await self.client.query("""
                SELECT * FROM messages
                WHERE (sender = \(client) OR recipient = \(client) OR (recipient IS NULL AND id > \(firstID))) AND id < \(before)
                ORDER BY id DESC LIMIT \(limit)
                """, logger: self.logger).rows().map(Self.message(from:))
        }
        return try await self.client.query(
            "SELECT * FROM messages WHERE id < \(before) ORDER BY id DESC LIMIT \(limit)", logger: self.logger)
            .rows().map(Self.message(from:))
    }

    public func noticeSubscribers() async throws -> [String] {
        var subscribers: [String] = []
        for try await id in try await self.client.query("SELECT client_id FROM mailboxes WHERE notices ORDER BY client_id", logger: self.logger)
            .decode(String.self) {
            subscribers.append(id)
        }
        return subscribers
    }

    public func deleteExpiredMessages(deliveredBefore: Date, undeliveredBefore: Date) async throws -> MessageRetentionResult {
        // In batches, as the SQLite store does: a long purge must not hold the message-order lock
        // (retention does not take it, but its row locks would slow the writer).
        let delivered = try await self.deleteInBatches(before: deliveredBefore.timeIntervalSince1970, delivered: true)
        let undelivered = try await self.deleteInBatches(before: undeliveredBefore.timeIntervalSince1970, delivered: false)
        return MessageRetentionResult(delivered: delivered, undelivered: undelivered)
    }

    /// Rows deleted per statement by retention.
    static let retentionBatch: Int64 = 1000

    private func deleteInBatches(before cutoff: Double, delivered: Bool) async throws -> Int {
        var total = 0
        let condition = delivered ? Self.deliveredCondition : "NOT \(Self.deliveredCondition)"
        while true {
            var query = PostgresQuery(unsafeSQL: """
                WITH doomed AS (SELECT id FROM messages WHERE stored_at < $1 AND \(condition) ORDER BY stored_at LIMIT $2)
                DELETE FROM messages WHERE id IN (SELECT id FROM doomed) RETURNING id
                """)
            query.binds.append(cutoff)
            query.binds.append(Self.retentionBatch)
            let deleted = try await self.client.query(query, logger: self.logger).rows().count
            total += deleted
            if deleted < Self.retentionBatch { return total }
        }
    }

    // MARK: Rows

    /// The sender of notices and of messages posted through the API.
    static let serverSender = "server"
    static let noticeKind = "notice"

    /// A message every recipient has acknowledged (as in the SQLite store).
    static let deliveredCondition = """
        (CASE WHEN messages.recipient IS NOT NULL
          THEN EXISTS (SELECT 1 FROM mailboxes m WHERE m.client_id = messages.recipient AND m.delivered_through >= messages.id)
          ELSE NOT EXISTS (SELECT 1 FROM mailboxes m WHERE m.client_id <> messages.sender AND m.first_id < messages.id AND m.delivered_through < messages.id)
        END)
        """

    func insert(_ message: NewMessage, known: inout [String: Bool], on connection: PostgresConnection) async throws -> MessageWriteOutcome {
        if let recipient = message.recipient {
            let isKnown: Bool
            if let cached = known[recipient] {
                isKnown = cached
            } else {
                isKnown = try await !connection.query("SELECT 1 FROM mailboxes WHERE client_id = \(recipient)", logger: self.logger)
                    .rows().isEmpty
                known[recipient] = isKnown
            }
            guard isKnown else { return .unknownRecipient }
        }
        let inserted = try await connection.query("""
            INSERT INTO messages(message_id, sender, recipient, content, seq, kind, sent_at, stored_at)
            VALUES (\(message.messageID), \(message.sender), \(message.recipient), \(message.content),
                    \(message.seq.map { Int64(bitPattern: $0) }), \(message.kind), \(message.sentAt?.timeIntervalSince1970),
                    \(message.storedAt.timeIntervalSince1970))
            ON CONFLICT (sender, message_id) DO NOTHING
            RETURNING id
            """, logger: self.logger).rows()
        guard let row = inserted.first else {
            guard let existing = try await connection.query(
                "SELECT * FROM messages WHERE sender = \(message.sender) AND message_id = \(message.messageID)", logger: self.logger)
                .rows().first
            else { throw PostgresStoreError.inconsistent("message neither inserted nor found") }
            return .duplicate(try Self.message(from: existing))
        }
        return .stored(StoredMessage(
            id: try row.value("id"), messageID: message.messageID, sender: message.sender, recipient: message.recipient,
            content: message.content, seq: message.seq, kind: message.kind, sentAt: message.sentAt, storedAt: message.storedAt
        ))
    }

    func ensure(_ registration: MailboxRegistration, on connection: PostgresConnection) async throws -> Mailbox {
        let at = registration.at.timeIntervalSince1970
        // New: nothing stored before now is its mail (no old broadcasts for newcomers). The
        // message-order lock is held, so MAX(id) is every message committed so far.
        let rows: [PostgresRandomAccessRow]
        if registration.refreshesExisting {
            rows = try await connection.query("""
                INSERT INTO mailboxes(client_id, kind, delivered_through, first_id, notices, created_at, last_seen)
                SELECT \(registration.clientID), \(registration.kind), m, m, \(registration.notices), \(at), \(at)
                FROM (SELECT COALESCE(MAX(id), 0) AS m FROM messages) AS current
                ON CONFLICT (client_id) DO UPDATE SET kind = excluded.kind, notices = excluded.notices, last_seen = excluded.last_seen
                RETURNING *
                """, logger: self.logger).rows()
        } else {
            rows = try await connection.query("""
                INSERT INTO mailboxes(client_id, kind, delivered_through, first_id, notices, created_at, last_seen)
                SELECT \(registration.clientID), \(registration.kind), m, m, \(registration.notices), \(at), \(at)
                FROM (SELECT COALESCE(MAX(id), 0) AS m FROM messages) AS current
                ON CONFLICT (client_id) DO UPDATE SET last_seen = excluded.last_seen
                RETURNING *
                """, logger: self.logger).rows()
        }
        guard let row = rows.first else { throw PostgresStoreError.inconsistent("mailbox neither updated nor inserted") }
        return try Self.mailbox(from: row)
    }

    static func message(from row: PostgresRandomAccessRow) throws -> StoredMessage {
        StoredMessage(
            id: try row.value("id"), messageID: try row.value("message_id"), sender: try row.value("sender"),
            recipient: try row.value("recipient", as: String?.self), content: try row.value("content"),
            seq: try row.value("seq", as: Int64?.self).map { UInt64(bitPattern: $0) }, kind: try row.value("kind", as: String?.self),
            sentAt: try row.optionalDate("sent_at"), storedAt: try row.date("stored_at")
        )
    }

    static func mailbox(from row: PostgresRandomAccessRow) throws -> Mailbox {
        Mailbox(
            clientID: try row.value("client_id"), kind: try row.value("kind"), deliveredThrough: try row.value("delivered_through"),
            firstID: try row.value("first_id"), notices: try row.value("notices"), createdAt: try row.date("created_at"),
            lastSeen: try row.optionalDate("last_seen")
        )
    }
}
