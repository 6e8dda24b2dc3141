#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Durable messages and mailboxes, behind a backend-neutral protocol.
///
/// One writer (the server's message service) applies changes in group commits through
/// ``write(_:)``; reads may run beside it. Row ids give the global delivery order: a client's mail
/// is read in id order after its cursor.
public protocol MessageStore: Sendable {
    /// Applies `writes` in order, in one transaction; returns one outcome per write, in order.
    /// Either every write is applied or, on a thrown error, none.
    func write(_ writes: [MessageWrite]) async throws -> [MessageWriteOutcome]

    /// The client's mailbox, or `nil` when it has never registered.
    func mailbox(clientID: String) async throws -> Mailbox?

    /// A client's mail after row `after`, oldest first, at most `limit` messages: private messages to it
    /// and broadcasts from others stored since it became known.
    func mail(for clientID: String, after: Int64, limit: Int) async throws -> [StoredMessage]

    /// Messages as `query` selects them, newest first.
    func conversation(_ query: ConversationQuery) async throws -> [StoredMessage]

    /// The clients subscribed to the server's notices, sorted.
    func noticeSubscribers() async throws -> [String]

    /// Deletes delivered messages stored before `deliveredBefore`, and every message stored before
    /// `undeliveredBefore` whether delivered or not.
    func deleteExpiredMessages(deliveredBefore: Date, undeliveredBefore: Date) async throws -> MessageRetentionResult
    /// Wake-ups for mail other servers store, when servers share the store; `nil` for a store only
    /// this server writes (every message then passes through its own writer).
    func mailWakeups() -> AsyncStream<MailWakeup>?
}

extension MessageStore {
    public func mailWakeups() -> AsyncStream<MailWakeup>? { nil }

    /// Whether the client has ever registered.
    public func isKnown(_ clientID: String) async throws -> Bool {
        try await self.mailbox(clientID: clientID) != nil
    }

    /// Stores messages in one transaction: per message, the stored row, the earlier row it
    /// duplicates, or ``MessageWriteOutcome/unknownRecipient``.
    public func append(_ messages: [NewMessage]) async throws -> [MessageWriteOutcome] {
        try await self.write(messages.map(MessageWrite.message))
    }

    /// Creates or refreshes a client's mailbox at registration.
    @discardableResult
    public func ensureMailbox(_ registration: MailboxRegistration) async throws -> Mailbox {
        guard case .mailbox(let mailbox) = try await self.write([.mailbox(registration)]).first else {
            preconditionFailure("a mailbox write answers with its mailbox")
        }
        return mailbox
    }

    /// Moves cursors forward, in one transaction.
    public func advanceCursors(_ cursors: [String: Int64]) async throws {
        _ = try await self.write(cursors.sorted { $0.key < $1.key }.map { .cursor(clientID: $0.key, deliveredThrough: $0.value) })
    }
}
