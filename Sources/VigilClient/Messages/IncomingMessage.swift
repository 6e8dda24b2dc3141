import VigilProtocol

/// A `CLIENT_MESSAGE` the server delivered to this client (already acknowledged and deduplicated).
public struct IncomingMessage: Sendable, Equatable {
    /// The original sender's client id (`server` for the server's own messages and notices).
    public var sender: String
    /// The sender's `message_id`, unique per sender.
    public var messageID: String
    public var content: String
    /// This client's id for a private message, `nil` for a broadcast.
    public var recipient: String?
    /// The sender's counter, when it sent one.
    public var seq: UInt64?
    /// `notice` for the server's notices (a host DOWN, RECOVERED, …), `nil` for ordinary messages.
    public var kind: String?
    /// When the server stored it, Unix seconds.
    public var storedAt: Double?

    public init(sender: String, messageID: String, content: String, recipient: String? = nil, seq: UInt64? = nil, kind: String? = nil, storedAt: Double? = nil) {
        self.sender = sender
        self.messageID = messageID
        self.content = content
        self.recipient = recipient
        self.seq = seq
        self.kind = kind
        self.storedAt = storedAt
    }

    /// Whether the server wrote it itself as a notice.
    public var isNotice: Bool { self.kind == ClientMessagePayload.noticeKind }

    /// Whether it was addressed to this client alone.
    public var isPrivate: Bool { self.recipient != nil }
}
