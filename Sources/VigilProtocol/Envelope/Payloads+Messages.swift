/// `CLIENT_MESSAGE.payload`: one text message.
///
/// From a client: `recipient` is the client id to deliver to, or absent/`null` for a broadcast to
/// every known client but the sender. From the server: the same payload, with the original sender in
/// the envelope's `sender_id` and the original `message_id`.
public struct ClientMessagePayload: Codable, Sendable, Equatable {
    /// The text, UTF-8, at most `messages.max_content_bytes` (default 65536).
    public var content: String
    /// A client id, or `nil` for a broadcast.
    public var recipient: String?
    /// The sender's own counter, increasing by one per message; stored and passed on, never reordered by.
    public var seq: UInt64?
    /// `notice` on messages the server writes itself (such as "host web-1 is DOWN"); absent otherwise.
    public var kind: String?
    /// Server → recipient: when the server stored it, Unix seconds.
    public var storedAt: Double?

    public init(content: String, recipient: String? = nil, seq: UInt64? = nil, kind: String? = nil, storedAt: Double? = nil) {
        self.content = content
        self.recipient = recipient
        self.seq = seq
        self.kind = kind
        self.storedAt = storedAt
    }

    enum CodingKeys: String, CodingKey {
        case content, recipient, seq, kind
        case storedAt = "stored_at"
    }

    /// The value of ``kind`` on server notices.
    public static let noticeKind = "notice"
}

/// `MESSAGE_ACK.payload`.
public struct MessageAckPayload: Codable, Sendable, Equatable {
    /// The `message_id` of the message acknowledged.
    public var ackedMessageID: String
    /// Server → sender: `stored` for a new message, `duplicate` for a resend of one already stored
    /// (it is not delivered again). Absent on a recipient's ack.
    public var status: String?
    /// Recipient → server: the `sender_id` of the message acknowledged. A `message_id` is unique
    /// per sender only, so with it the server clears exactly that sender's message; without it,
    /// the oldest message in flight with that id. Absent on the server's acks.
    public var ackedSenderID: String?

    public init(ackedMessageID: String, status: String? = nil, ackedSenderID: String? = nil) {
        self.ackedMessageID = ackedMessageID
        self.status = status
        self.ackedSenderID = ackedSenderID
    }

    enum CodingKeys: String, CodingKey {
        case status
        case ackedMessageID = "acked_message_id"
        case ackedSenderID = "acked_sender_id"
    }

    public static let stored = "stored"
    public static let duplicate = "duplicate"
}

/// `LIST_CLIENTS.payload` (empty).
public struct ListClientsPayload: Codable, Sendable, Equatable {
    public init() {}
}

/// `CLIENT_LIST.payload`: who is online, sorted by client id.
public struct ClientListPayload: Codable, Sendable, Equatable {
    public struct Client: Codable, Sendable, Equatable {
        public var clientID: String
        /// `agent` or `user`.
        public var kind: ClientKind
        /// When this connection registered, Unix seconds.
        public var since: Double

        public init(clientID: String, kind: ClientKind, since: Double) {
            self.clientID = clientID
            self.kind = kind
            self.since = since
        }

        enum CodingKeys: String, CodingKey {
            case kind, since
            case clientID = "client_id"
        }
    }

    public var clients: [Client]

    public init(clients: [Client]) {
        self.clients = clients
    }
}

/// What a registering client is: a monitored host, or a person's tool.
public enum ClientKind: String, Codable, Sendable, Equatable, CaseIterable {
    /// A host running `vigil-agent`: its liveness is tracked (DOWN, RECOVERED, STOPPED).
    case agent
    /// A person's tool or a script (`vigil chat`, `vigil send`): present while connected, never DOWN.
    case user
}
