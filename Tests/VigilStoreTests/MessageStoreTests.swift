import Foundation
import GRDB
import Testing
@testable import VigilStore

@Suite("Store on SQLite and PostgreSQL: messages and mailboxes", .postgres)
struct MessageStoreTests {
    private func message(_ id: String, from sender: String, to recipient: String?, _ content: String = "hello", seq: UInt64? = nil, at: Double = 1_700_000_000.5) -> NewMessage {
        NewMessage(messageID: id, sender: sender, recipient: recipient, content: content, seq: seq, sentAt: date(at - 0.25), storedAt: date(at))
    }

    private func register(_ store: any VigilStore, _ clients: String..., notices: Bool = false, kind: String = "user", at: Double = 1_700_000_000) async throws {
        for client in clients {
            try await store.ensureMailbox(MailboxRegistration(clientID: client, kind: kind, notices: notices, at: date(at)))
        }
    }

    private func stored(_ outcome: MessageWriteOutcome?) -> StoredMessage? {
        if case .stored(let row) = outcome { return row }
        return nil
    }

    // MARK: write

    @Test("messages get increasing row ids and come back as written; an unknown recipient is refused and nothing is stored", arguments: StoreBackend.allCases)
    func appendAndUnknownRecipient(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await register(store, "alice", "bob")
            let outcomes = try await store.append([
                message("m1", from: "alice", to: "bob", "first", seq: 1),
                message("m2", from: "alice", to: nil, "to everyone", seq: 2),
                message("m3", from: "alice", to: "carol", "nobody home", seq: 3),
                message("m4", from: "bob", to: "alice", "back", seq: UInt64.max),
            ])
            #expect(outcomes.count == 4)
            let first = try #require(stored(outcomes[0]))
            #expect(first == StoredMessage(id: 1, messageID: "m1", sender: "alice", recipient: "bob", content: "first", seq: 1, sentAt: date(1_700_000_000.25), storedAt: date(1_700_000_000.5)))
            #expect(stored(outcomes[1])?.id == 2)
            #expect(stored(outcomes[1])?.recipient == nil)
            #expect(outcomes[2] == .unknownRecipient)
            #expect(stored(outcomes[3])?.id == 3)
            #expect(stored(outcomes[3])?.seq == UInt64.max)  // the whole unsigned range survives
            let all = try await store.conversation(ConversationQuery(limit: 10))
            #expect(all.map(\.messageID) == ["m4", "m2", "m1"])
            #expect(all.last == first)
        }
    }

    @Test("a resend with the same sender and message id is a duplicate of the first row, stored once; another sender may reuse the id", arguments: StoreBackend.allCases)
    func duplicates(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await register(store, "alice", "bob")
            let original = try #require(stored(try await store.append([message("same", from: "alice", to: "bob", "one")]).first))
            let again = try await store.append([
                message("same", from: "alice", to: "bob", "changed text"),
                message("same", from: "bob", to: "alice", "bob's own"),
                message("twice", from: "alice", to: "bob"),
                message("twice", from: "alice", to: "bob"),
            ])
            #expect(again[0] == .duplicate(original))
            #expect(stored(again[1])?.sender == "bob")
            let twice = try #require(stored(again[2]))
            #expect(again[3] == .duplicate(twice))
            #expect(try await store.conversation(ConversationQuery(limit: 10)).count == 3)
        }
    }

    @Test("writes apply in order in one batch: a message after its recipient's registration is stored, one before it is not", arguments: StoreBackend.allCases)
    func orderInsideABatch(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let registration = MailboxRegistration(clientID: "dave", kind: "user", notices: false, at: date(10))
            let outcomes = try await store.write([
                .message(message("early", from: "alice", to: "dave")),
                .mailbox(registration),
                .message(message("late", from: "alice", to: "dave")),
            ])
            #expect(outcomes[0] == .unknownRecipient)
            guard case .mailbox(let mailbox) = outcomes[1] else { Issue.record("expected a mailbox, got \(outcomes[1])"); return }
            #expect(mailbox.clientID == "dave")
            #expect(stored(outcomes[2])?.messageID == "late")
        }
    }

    // MARK: Mailboxes

    @Test("a new mailbox starts after every stored row; a refresh keeps its cursor and updates kind, notices and last seen", arguments: StoreBackend.allCases)
    func mailboxes(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            #expect(try await store.isKnown("alice") == false)
            try await register(store, "alice", "bob")
            _ = try await store.append([message("a", from: "alice", to: nil), message("b", from: "alice", to: "bob")])
            let carol = try await store.ensureMailbox(MailboxRegistration(clientID: "carol", kind: "user", notices: true, at: date(100)))
            #expect(carol == Mailbox(clientID: "carol", kind: "user", deliveredThrough: 2, firstID: 2, notices: true, createdAt: date(100), lastSeen: date(100)))
            try await store.advanceCursors(["carol": 7])
            let refreshed = try await store.ensureMailbox(MailboxRegistration(clientID: "carol", kind: "agent", notices: false, at: date(200)))
            #expect(refreshed == Mailbox(clientID: "carol", kind: "agent", deliveredThrough: 7, firstID: 2, notices: false, createdAt: date(100), lastSeen: date(200)))
            #expect(try await store.mailbox(clientID: "carol") == refreshed)
            #expect(try await store.isKnown("carol"))
            #expect(try await store.isKnown("nobody") == false)
        }
    }

    @Test("a send-only registration creates a missing mailbox but keeps an existing one's kind and notices subscription", arguments: StoreBackend.allCases)
    func sendOnlyMailbox(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let created = try await store.ensureMailbox(MailboxRegistration(clientID: "dave", kind: "user", notices: false, at: date(50), refreshesExisting: false))
            #expect(created.notices == false && created.kind == "user")
            try await store.ensureMailbox(MailboxRegistration(clientID: "carol", kind: "user", notices: true, at: date(100)))
            let kept = try await store.ensureMailbox(MailboxRegistration(clientID: "carol", kind: "agent", notices: false, at: date(200), refreshesExisting: false))
            #expect(kept.notices == true)
            #expect(kept.kind == "user")
            #expect(kept.lastSeen == date(200))
        }
    }

    @Test("cursors only move forward", arguments: StoreBackend.allCases)
    func cursorsMoveForward(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await register(store, "alice", "bob")
            try await store.advanceCursors(["alice": 5, "bob": 3])
            try await store.advanceCursors(["alice": 4, "bob": 9, "nobody": 1])
            #expect(try await store.mailbox(clientID: "alice")?.deliveredThrough == 5)
            #expect(try await store.mailbox(clientID: "bob")?.deliveredThrough == 9)
            #expect(try await store.isKnown("nobody") == false)
        }
    }

    // MARK: Mail

    @Test("a client's mail: private messages to it and others' broadcasts since it is known, in row order, after the cursor, at most limit", arguments: StoreBackend.allCases)
    func mail(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await register(store, "alice", "bob")
            _ = try await store.append([
                message("1", from: "alice", to: nil, "old broadcast"),   // row 1: before carol
            ])
            try await register(store, "carol")
            _ = try await store.append([
                message("2", from: "alice", to: "carol"),          // 2: carol's
                message("3", from: "alice", to: "bob"),            // 3: not carol's
                message("4", from: "carol", to: nil),              // 4: carol's own broadcast
                message("5", from: "bob", to: nil),                // 5: carol's
                message("6", from: "carol", to: "carol", "self"),  // 6: to itself
                message("7", from: "bob", to: "carol"),            // 7: carol's
            ])
            #expect(try await store.mail(for: "carol", after: 0, limit: 100).map(\.messageID) == ["2", "5", "6", "7"])
            #expect(try await store.mail(for: "carol", after: 2, limit: 2).map(\.messageID) == ["5", "6"])
            #expect(try await store.mail(for: "carol", after: 7, limit: 100).isEmpty)
            #expect(try await store.mail(for: "bob", after: 0, limit: 100).map(\.messageID) == ["1", "3", "4"])
            #expect(try await store.mail(for: "alice", after: 0, limit: 100).map(\.messageID) == ["4", "5"])
            #expect(try await store.mail(for: "nobody", after: 0, limit: 100).isEmpty)
            #expect(try await store.mail(for: "carol", after: 0, limit: 0).isEmpty)
        }
    }

    // MARK: Notices

    @Test("a notice is one private message from server, kind notice, per subscribed client", arguments: StoreBackend.allCases)
    func notices(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await register(store, "alice", "carol", notices: true)
            try await register(store, "bob", notices: false)
            #expect(try await store.noticeSubscribers() == ["alice", "carol"])
            let outcomes = try await store.write([.notice(content: "host web-1 is DOWN: no heartbeat", at: date(500))])
            guard case .notices(let rows) = outcomes.first else { Issue.record("expected notices, got \(outcomes)"); return }
            #expect(rows.map(\.recipient) == ["alice", "carol"])
            #expect(rows.allSatisfy { $0.sender == "server" && $0.kind == "notice" && $0.content == "host web-1 is DOWN: no heartbeat" && $0.storedAt == date(500) })
            #expect(Set(rows.map(\.messageID)).count == 2)
            #expect(try await store.mail(for: "bob", after: 0, limit: 10).isEmpty)
            #expect(try await store.mail(for: "alice", after: 0, limit: 10) == [rows[0]])
            // Nobody subscribed: nothing stored.
            try await register(store, "alice", "carol", notices: false)
            #expect(try await store.write([.notice(content: "x", at: date(600))]) == [.notices([])])
        }
    }

    // MARK: Conversation

    @Test("conversation: a client's messages incl. broadcasts since it is known, a pair's messages, paging by before, newest first", arguments: StoreBackend.allCases)
    func conversation(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await register(store, "alice", "bob")
            _ = try await store.append([message("1", from: "bob", to: nil)])     // before carol
            try await register(store, "carol")
            _ = try await store.append([
                message("2", from: "alice", to: "carol"),
                message("3", from: "carol", to: "alice"),
                message("4", from: "bob", to: "carol"),
                message("5", from: "alice", to: "bob"),
                message("6", from: "bob", to: nil),
                message("7", from: "carol", to: nil),
            ])
            #expect(try await store.conversation(ConversationQuery(client: "carol", limit: 100)).map(\.messageID) == ["7", "6", "4", "3", "2"])
            #expect(try await store.conversation(ConversationQuery(client: "carol", peer: "alice", limit: 100)).map(\.messageID) == ["3", "2"])
            #expect(try await store.conversation(ConversationQuery(client: "alice", peer: "carol", limit: 100)).map(\.messageID) == ["3", "2"])
            #expect(try await store.conversation(ConversationQuery(client: "carol", limit: 2)).map(\.messageID) == ["7", "6"])
            #expect(try await store.conversation(ConversationQuery(client: "carol", before: 6, limit: 2)).map(\.messageID) == ["4", "3"])
            #expect(try await store.conversation(ConversationQuery(before: 3, limit: 100)).map(\.messageID) == ["2", "1"])
            #expect(try await store.conversation(ConversationQuery(limit: 0)).isEmpty)
        }
    }

    // MARK: Retention

    @Test("retention deletes delivered messages past messages.retention and everything past undelivered_retention, counting the undelivered", arguments: StoreBackend.allCases)
    func retention(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await register(store, "alice", "bob", "carol")
            _ = try await store.append([
                message("old-delivered", from: "alice", to: "bob", at: 100),      // 1
                message("old-undelivered", from: "alice", to: "carol", at: 100),  // 2
                message("old-broadcast", from: "alice", to: nil, at: 100),        // 3: bob and carol must have it
                message("very-old", from: "bob", to: "carol", at: 10),            // 4
                message("new-delivered", from: "alice", to: "bob", at: 1000),     // 5
            ])
            try await store.advanceCursors(["bob": 5, "carol": 1])
            // Delivered before 500 go; undelivered before 50 go.
            var result = try await store.deleteExpiredMessages(deliveredBefore: date(500), undeliveredBefore: date(50))
            #expect(result == MessageRetentionResult(delivered: 1, undelivered: 1))
            #expect(Set(try await store.conversation(ConversationQuery(limit: 10)).map(\.messageID)) == ["old-undelivered", "old-broadcast", "new-delivered"])
            // carol catches up with the broadcast: now it is delivered to everyone it is for.
            try await store.advanceCursors(["carol": 3])
            result = try await store.deleteExpiredMessages(deliveredBefore: date(500), undeliveredBefore: date(50))
            #expect(result == MessageRetentionResult(delivered: 2, undelivered: 0))
            #expect(try await store.conversation(ConversationQuery(limit: 10)).map(\.messageID) == ["new-delivered"])
            // A broadcast nobody else has acknowledged goes only with the undelivered retention.
            _ = try await store.append([message("late", from: "alice", to: nil, at: 200)])
            #expect(try await store.deleteExpiredMessages(deliveredBefore: date(500), undeliveredBefore: date(150)) == MessageRetentionResult(delivered: 0, undelivered: 0))
            #expect(try await store.deleteExpiredMessages(deliveredBefore: date(500), undeliveredBefore: date(300)) == MessageRetentionResult(delivered: 0, undelivered: 1))
            // Row ids are never reused after deletion.
            let next = try #require(stored(try await store.append([message("next", from: "alice", to: "bob")]).first))
            #expect(next.id == 7)
        }
    }

    @Test("retention deletes in bounded batches until nothing expired is left", arguments: StoreBackend.allCases)
    func retentionInBatches(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await register(store, "alice", "bob")
            let count = SQLiteStore.retentionBatch * 2 + 500
            _ = try await store.append((0..<count).map { message("m\($0)", from: "alice", to: "bob", at: 100) })
            _ = try await store.append([message("kept", from: "alice", to: "bob", at: 1000)])
            try await store.advanceCursors(["bob": Int64(count + 1)])
            let result = try await store.deleteExpiredMessages(deliveredBefore: date(500), undeliveredBefore: date(50))
            #expect(result == MessageRetentionResult(delivered: count, undelivered: 0))
            #expect(try await store.conversation(ConversationQuery(limit: 10)).map(\.messageID) == ["kept"])
        }
    }

    // MARK: Migration

    @Test("migration v2 makes every host already known a mailbox, with nothing delivered yet")
    func migrationSeedsMailboxes() async throws {
        try await withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            do {
                let queue = try DatabaseQueue(path: directory.appendingPathComponent(SQLiteStore.fileName).path)
                try SQLiteStore.migrator.migrate(queue, upTo: "v1: keys, agents, liveness events")
                try await queue.write { db in
                    try db.execute(sql: "INSERT INTO agents(hostname, state, state_since, first_seen, last_seen) VALUES ('web-01', 'HEALTHY', 1, 100, 200), ('db-01', 'DOWN', 1, 300, NULL)")
                }
            }
            let store = try SQLiteStore(directory: directory)
            #expect(try await store.mailbox(clientID: "web-01") == Mailbox(clientID: "web-01", kind: "agent", deliveredThrough: 0, firstID: 0, notices: false, createdAt: date(100), lastSeen: date(200)))
            #expect(try await store.mailbox(clientID: "db-01")?.lastSeen == nil)
            // Known at once: a message to a host that has not come back since the upgrade is kept for it.
            #expect(stored(try await store.append([message("m", from: "alice", to: "db-01")]).first) != nil)
            #expect(try await store.mail(for: "db-01", after: 0, limit: 10).map(\.messageID) == ["m"])
        }
    }
}
