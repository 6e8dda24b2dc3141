import Foundation
import GRDB

/// Messages and mailboxes in the embedded store (tables `messages` and `mailboxes`, migration v2):
/// the ``MessageStore`` part of ``SQLiteStore``'s ``VigilStore`` conformance.
extension SQLiteStore {
    public func write(_ writes: [MessageWrite]) async throws -> [MessageWriteOutcome] {
        guard !writes.isEmpty else { return [] }
        return try await self.pool.write { db in
            var outcomes: [MessageWriteOutcome] = []
            outcomes.reserveCapacity(writes.count)
            // Whether each recipient has a mailbox, looked up once per batch (a batch often holds
            // many messages to the same few clients).
            var known: [String: Bool] = [:]
            for write in writes {
                switch write {
                case .message(let message):
                    outcomes.append(try Self.insert(message, known: &known, in: db))
                case .notice(let content, let at):
                    var stored: [StoredMessage] = []
                    let subscribers = try String.fetchAll(db, sql: "SELECT client_id FROM mailboxes WHERE notices = 1 ORDER BY client_id")
                    for subscriber in subscribers {
                        let notice = NewMessage(messageID: UUID().uuidString.lowercased(), sender: Self.serverSender, recipient: subscriber, content: content, kind: Self.noticeKind, storedAt: at)
                        if case .stored(let row) = try Self.insert(notice, known: &known, in: db) { stored.append(row) }
                    }
                    outcomes.append(.notices(stored))
                case .mailbox(let registration):
                    outcomes.append(.mailbox(try Self.ensure(registration, in: db)))
                    known[registration.clientID] = true
                case .cursor(let clientID, let deliveredThrough):
                    try db.cachedStatement(sql: "UPDATE mailboxes SET delivered_through = MAX(delivered_through, ?) WHERE client_id = ?")
                        .execute(arguments: [deliveredThrough, clientID])
                    outcomes.append(.cursor)
                }
            }
            return outcomes
        }
    }

    public func mailbox(clientID: String) async throws -> Mailbox? {
        try await self.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM mailboxes WHERE client_id = ?", arguments: [clientID]).map(Self.mailbox(from:))
        }
    }

    public func mail(for clientID: String, after: Int64, limit: Int) async throws -> [StoredMessage] {
        guard limit > 0 else { return [] }
        return try await self.pool.read { db in
            guard let firstID = try Int64.fetchOne(db, sql: "SELECT first_id FROM mailboxes WHERE client_id = ?", arguments: [clientID]) else {
                return []
            }
            // Two index range scans (recipient, id), merged in id order: private mail, then
            // broadcasts from others since the client became known.
            return try Row.fetchAll(db, sql: """
                SELECT * FROM messages WHERE recipient = ? AND id > ?
                UNION ALL
                SELECT * FROM messages WHERE recipient IS NULL AND id > ? AND sender != ?
                ORDER BY id LIMIT ?
                """, arguments: [clientID, after, max(after, firstID), clientID, limit]).map(Self.message(from:))
        }
    }

    public func conversation(_ query: ConversationQuery) async throws -> [StoredMessage] {
        guard query.limit > 0 else { return [] }
        return try await self.pool.read { db in
            let before = query.before ?? Int64.max
            // One index range scan per arm, each in id order, merged by SQLite (no sort of a
            // client's whole history per page). UNION drops a row that two arms both find (a
            // message to oneself, one's own broadcast).
            var arms: [(condition: String, arguments: StatementArguments)] = []
            if let client = query.client {
                if let peer = query.peer {
                    arms.append(("sender = ? AND recipient = ?", [client, peer]))
                    arms.append(("sender = ? AND recipient = ?", [peer, client]))
                } else {
                    // Broadcasts it sent, and those stored since it became known (it received them).
                    let firstID = try Int64.fetchOne(db, sql: "SELECT first_id FROM mailboxes WHERE client_id = ?", arguments: [client]) ?? Int64.max
                    arms.append(("sender = ?", [client]))
                    arms.append(("recipient = ?", [client]))
                    arms.append(("recipient IS NULL AND id > ?", [firstID]))
                }
            } else {
                arms.append(("1", []))
            }
            var sql = ""
            var arguments: StatementArguments = []
            for (index, arm) in arms.enumerated() {
                sql += (index == 0 ? "" : " UNION ") + "SELECT * FROM messages WHERE \(arm.condition) AND id < ?"
                arguments += arm.arguments
                arguments += [before]
            }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [query.limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.message(from:))
        }
    }

    public func noticeSubscribers() async throws -> [String] {
        try await self.pool.read { db in
            try String.fetchAll(db, sql: "SELECT client_id FROM mailboxes WHERE notices = 1 ORDER BY client_id")
        }
    }

    public func deleteExpiredMessages(deliveredBefore: Date, undeliveredBefore: Date) async throws -> MessageRetentionResult {
        // In short transactions of at most `retentionBatch` rows, oldest first (stored_at is indexed):
        // the message writer shares the write lock, and a long purge must not hold up acknowledgements.
        let delivered = try await self.deleteInBatches(
            where: "stored_at < ? AND \(Self.deliveredCondition)", arguments: [deliveredBefore.timeIntervalSince1970])
        let undelivered = try await self.deleteInBatches(
            where: "stored_at < ? AND NOT \(Self.deliveredCondition)", arguments: [undeliveredBefore.timeIntervalSince1970])
        return MessageRetentionResult(delivered: delivered, undelivered: undelivered)
    }

    /// Rows deleted per transaction by retention.
    static let retentionBatch = 1000

    /// Deletes every message matching `condition`, `retentionBatch` rows per transaction; returns how many.
    private func deleteInBatches(where condition: String, arguments: StatementArguments) async throws -> Int {
        var total = 0
        while true {
            let deleted = try await self.pool.write { db in
                try db.execute(
                    sql: "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE \(condition) ORDER BY stored_at LIMIT \(Self.retentionBatch))",
                    arguments: arguments)
                return db.changesCount
            }
            total += deleted
            if deleted < Self.retentionBatch { return total }
        }
    }
}

// MARK: Rows

extension SQLiteStore {
    /// The sender of notices and of messages posted through the API.
    static let serverSender = "server"
    static let noticeKind = "notice"

    /// A row of `messages` (aliased as the table name) that every recipient has acknowledged: a private
    /// message at or below its recipient's cursor; a broadcast at or below the cursor of every
    /// client that it is for (known before it, not its sender).
    static let deliveredCondition = """
        (CASE WHEN messages.recipient IS NOT NULL
          THEN EXISTS (SELECT 1 FROM mailboxes m WHERE m.client_id = messages.recipient AND m.delivered_through >= messages.id)
          ELSE NOT EXISTS (SELECT 1 FROM mailboxes m WHERE m.client_id != messages.sender AND m.first_id < messages.id AND m.delivered_through < messages.id)
        END)
        """

    static func insert(_ message: NewMessage, known: inout [String: Bool], in db: Database) throws -> MessageWriteOutcome {
        if let recipient = message.recipient {
            let isKnown: Bool
            if let cached = known[recipient] {
                isKnown = cached
            } else {
                isKnown = try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS(SELECT 1 FROM mailboxes WHERE client_id = ?)"), arguments: [recipient]) ?? false
                known[recipient] = isKnown
            }
            guard isKnown else { return .unknownRecipient }
        }
        try db.cachedStatement(sql: """
            INSERT INTO messages(message_id, sender, recipient, content, seq, kind, sent_at, stored_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(sender, message_id) DO NOTHING
            """).execute(
            arguments: [
                message.messageID, message.sender, message.recipient, message.content,
                message.seq.map { Int64(bitPattern: $0) }, message.kind,
                message.sentAt?.timeIntervalSince1970, message.storedAt.timeIntervalSince1970,
            ]
        )
        if db.changesCount == 0 {
            let existing = try Row.fetchOne(db, sql: "SELECT * FROM messages WHERE sender = ? AND message_id = ?", arguments: [message.sender, message.messageID])
            guard let existing else { throw DatabaseError(resultCode: .SQLITE_INTERNAL, message: "message neither inserted nor found") }
            return .duplicate(Self.message(from: existing))
        }
        return .stored(StoredMessage(
            id: db.lastInsertedRowID, messageID: message.messageID, sender: message.sender, recipient: message.recipient,
            content: message.content, seq: message.seq, kind: message.kind, sentAt: message.sentAt, storedAt: message.storedAt
        ))
    }

    static func ensure(_ registration: MailboxRegistration, in db: Database) throws -> Mailbox {
        let at = registration.at.timeIntervalSince1970
        if registration.refreshesExisting {
            try db.execute(
                sql: "UPDATE mailboxes SET kind = ?, notices = ?, last_seen = ? WHERE client_id = ?",
                arguments: [registration.kind, registration.notices, at, registration.clientID]
            )
        } else {
            try db.execute(sql: "UPDATE mailboxes SET last_seen = ? WHERE client_id = ?", arguments: [at, registration.clientID])
        }
        if db.changesCount == 0 {
            // New: nothing stored before now is its mail (no old broadcasts for newcomers).
            let current = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM messages") ?? 0
            try db.execute(
                sql: """
                INSERT INTO mailboxes(client_id, kind, delivered_through, first_id, notices, created_at, last_seen)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                arguments: [registration.clientID, registration.kind, current, current, registration.notices, at, at]
            )
        }
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM mailboxes WHERE client_id = ?", arguments: [registration.clientID]) else {
            throw DatabaseError(resultCode: .SQLITE_INTERNAL, message: "mailbox neither updated nor inserted")
        }
        return Self.mailbox(from: row)
    }

    static func message(from row: Row) -> StoredMessage {
        StoredMessage(
            id: row["id"], messageID: row["message_id"], sender: row["sender"], recipient: row["recipient"],
            content: row["content"], seq: (row["seq"] as Int64?).map { UInt64(bitPattern: $0) }, kind: row["kind"],
            sentAt: (row["sent_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            storedAt: Date(timeIntervalSince1970: row["stored_at"])
        )
    }

    static func mailbox(from row: Row) -> Mailbox {
        Mailbox(
            clientID: row["client_id"], kind: row["kind"], deliveredThrough: row["delivered_through"], firstID: row["first_id"],
            notices: row["notices"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            lastSeen: (row["last_seen"] as Double?).map(Date.init(timeIntervalSince1970:))
        )
    }
}
