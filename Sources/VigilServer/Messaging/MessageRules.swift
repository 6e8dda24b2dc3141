import VigilProtocol

/// The checks every message passes before it is queued, on a connection and over HTTP alike.
struct MessageRules: Sendable {
    /// The sender id of the server's own messages; no client may use it.
    static let serverID = "server"

    let maxContentBytes: Int

    /// Refuses empty or oversized content and an empty or reserved recipient.
    func check(content: String, recipient: String?) throws(MessageRefusal) {
        if let recipient {
            guard !recipient.isEmpty else {
                throw MessageRefusal(.invalid, "payload.recipient is empty; send null (or leave it out) to broadcast")
            }
            guard recipient != Self.serverID else {
                throw MessageRefusal(.unknownRecipient, "\(Self.serverID) is the server itself, not a client; it does not read messages")
            }
        }
        guard !content.isEmpty else {
            throw MessageRefusal(.invalid, "payload.content is empty")
        }
        let size = content.utf8.count
        guard size <= self.maxContentBytes else {
            throw MessageRefusal(.tooLarge, "payload.content is \(size) bytes, over the limit of \(self.maxContentBytes) bytes (messages.max_content_bytes)")
        }
    }
}
