/// One UDP datagram of cluster discovery (PROTOCOL.md §14): the JSON envelope of §3
/// (`{"type", "sender_id", "payload", "timestamp", "message_id"}`) with a discovery type, unframed
/// (a datagram is its own frame: no length prefix).
public struct DiscoveryDatagram: Sendable, Equatable {
    /// The payload, tagged by type, so a type and its payload cannot disagree.
    public enum Body: Sendable, Equatable {
        case discovery(ServerDiscoveryPayload)
        case announce(ServerAnnouncePayload)

        public var type: DiscoveryMessageType {
            switch self {
            case .discovery: .serverDiscovery
            case .announce: .serverAnnounce
            }
        }
    }

    public var body: Body
    /// Who sent it: the client's name, or the answering server's member id. Informational only.
    public var senderID: String?
    /// Unix seconds when it was sent.
    public var timestamp: Double?
    /// A unique id (a UUID string) chosen by the sender.
    public var messageID: String?

    public var type: DiscoveryMessageType { self.body.type }

    public init(_ body: Body, senderID: String? = nil, timestamp: Double? = nil, messageID: String? = nil) {
        self.body = body
        self.senderID = senderID
        self.timestamp = timestamp
        self.messageID = messageID
    }
}
