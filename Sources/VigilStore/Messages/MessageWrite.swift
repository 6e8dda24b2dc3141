#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One change in a group commit: everything the message writer took from its queue is applied in
/// one transaction, in order, so a client that registers before a message to it is sent is known
/// when that message is checked.
public enum MessageWrite: Sendable, Equatable {
    /// Store a message. A private message to a client that has no mailbox is refused
    /// (``MessageWriteOutcome/unknownRecipient``); a second message with the same sender and
    /// message id is not stored again (``MessageWriteOutcome/duplicate(_:)``).
    case message(NewMessage)
    /// A server notice: one private message from `server` (kind `notice`) to each client subscribed to notices.
    case notice(content: String, at: Date)
    /// Create the client's mailbox, or refresh its kind, notice subscription and last-seen time.
    case mailbox(MailboxRegistration)
    /// Move a client's cursor forward (never back).
    case cursor(clientID: String, deliveredThrough: Int64)
}

/// The result of one ``MessageWrite``, in the same position.
public enum MessageWriteOutcome: Sendable, Equatable {
    /// Stored now.
    case stored(StoredMessage)
    /// Already stored under the same sender and message id: the earlier row, unchanged.
    case duplicate(StoredMessage)
    /// The recipient has never registered: nothing stored.
    case unknownRecipient
    /// The notices stored, one per subscriber (none when nobody subscribes).
    case notices([StoredMessage])
    /// The mailbox after the registration.
    case mailbox(Mailbox)
    /// The cursor was moved (or was already further).
    case cursor
}

/// What a retention pass deleted.
public struct MessageRetentionResult: Sendable, Equatable {
    /// Delivered messages older than the retention.
    public var delivered: Int
    /// Messages never delivered to every recipient, older than the undelivered retention.
    public var undelivered: Int

    public init(delivered: Int, undelivered: Int) {
        self.delivered = delivered
        self.undelivered = undelivered
    }
}

/// Which messages `GET /api/messages` lists.
public struct ConversationQuery: Sendable, Equatable {
    /// One client's conversation: what it sent, what was sent to it, and the broadcasts since it is known.
    /// `nil`: every message.
    public var client: String?
    /// With `client`: only the messages between `client` and `peer`.
    public var peer: String?
    /// Only rows with `id < before` (paging backwards).
    public var before: Int64?
    public var limit: Int

    public init(client: String? = nil, peer: String? = nil, before: Int64? = nil, limit: Int) {
        self.client = client
        self.peer = peer
        self.before = before
        self.limit = limit
    }
}
