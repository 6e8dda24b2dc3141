import Foundation
import NIOCore
import VigilProtocol
import VigilStore

/// A stored message ready to go to a recipient: its place in the delivery order, the id the
/// recipient acknowledges it by, and its encoded `CLIENT_MESSAGE` frame.
///
/// Encoded once, off the event loops, and shared by every recipient of a broadcast.
struct MessageDelivery: Sendable {
    let rowID: Int64
    let messageID: String
    /// The sender: with the message id, what a recipient's acknowledgement names.
    let sender: String
    let frame: ByteBuffer

    init(_ message: StoredMessage, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.rowID = message.id
        self.messageID = message.messageID
        self.sender = message.sender
        self.frame = Self.envelope(for: message).encodedFrame(allocator: allocator)
    }

    /// The envelope a recipient receives: the original sender, message id and content; the time
    /// the sender gave (or, without one, the time it was stored).
    static func envelope(for message: StoredMessage) -> Envelope {
        let payload = ClientMessagePayload(
            content: message.content, recipient: message.recipient, seq: message.seq, kind: message.kind,
            storedAt: message.storedAt.timeIntervalSince1970
        )
        return Envelope(
            .clientMessage(payload), senderID: message.sender,
            timestamp: (message.sentAt ?? message.storedAt).timeIntervalSince1970, messageID: message.messageID
        )
    }
}
