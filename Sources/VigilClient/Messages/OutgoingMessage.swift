/// A message this client sends: it stays in the outbox until the server acknowledges it.
public struct OutgoingMessage: Sendable, Equatable, Hashable {
    /// A fresh lower-case UUID; a resend after a reconnect carries the same id, so the server stores it once.
    public var messageID: String
    /// This client's counter, 1 for the first message of the process.
    public var seq: UInt64
    /// A client id, or `nil` for a broadcast to every known client.
    public var recipient: String?
    public var content: String

    public init(messageID: String, seq: UInt64, recipient: String?, content: String) {
        self.messageID = messageID
        self.seq = seq
        self.recipient = recipient
        self.content = content
    }
}
