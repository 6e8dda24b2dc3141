#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A message as the store keeps it: one row, whose `id` is its place in the global delivery order.
public struct StoredMessage: Sendable, Equatable, Codable {
    /// The row id: assigned by the store, increasing, never reused. Delivery follows it.
    public var id: Int64
    /// The sender's own id for the message (a UUID for Vigil's clients); unique per sender.
    public var messageID: String
    /// The sending client id, or `server` for notices and `POST /api/messages`.
    public var sender: String
    /// The receiving client id, or `nil` for a broadcast to every known client but the sender.
    public var recipient: String?
    public var content: String
    /// The sender's counter, passed on as it came.
    public var seq: UInt64?
    /// `notice` for the server's notices; `nil` for ordinary messages.
    public var kind: String?
    /// When the sender says it sent the message (its envelope's timestamp), if it said.
    public var sentAt: Date?
    /// When the store wrote it.
    public var storedAt: Date

    public init(id: Int64, messageID: String, sender: String, recipient: String?, content: String, seq: UInt64? = nil, kind: String? = nil, sentAt: Date? = nil, storedAt: Date) {
        self.id = id
        self.messageID = messageID
        self.sender = sender
        self.recipient = recipient
        self.content = content
        self.seq = seq
        self.kind = kind
        self.sentAt = sentAt
        self.storedAt = storedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, sender, recipient, content, seq, kind
        case messageID = "message_id"
        case sentAt = "sent_at"
        case storedAt = "stored_at"
    }

    /// Whether `clientID` receives this message: it is addressed to it, or a broadcast it did not send.
    public func isAddressed(to clientID: String) -> Bool {
        if let recipient { return recipient == clientID }
        return self.sender != clientID
    }
}

/// A message to store: a ``StoredMessage`` before it has a row.
public struct NewMessage: Sendable, Equatable {
    public var messageID: String
    public var sender: String
    /// A known client id, or `nil` for a broadcast.
    public var recipient: String?
    public var content: String
    public var seq: UInt64?
    public var kind: String?
    public var sentAt: Date?
    public var storedAt: Date

    public init(messageID: String, sender: String, recipient: String?, content: String, seq: UInt64? = nil, kind: String? = nil, sentAt: Date? = nil, storedAt: Date) {
        self.messageID = messageID
        self.sender = sender
        self.recipient = recipient
        self.content = content
        self.seq = seq
        self.kind = kind
        self.sentAt = sentAt
        self.storedAt = storedAt
    }
}
