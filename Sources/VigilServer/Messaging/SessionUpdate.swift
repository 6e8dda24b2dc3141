import NIOCore
import VigilStore

/// What one group commit has for one connection, handed over in a single hop onto its event loop:
/// its mailbox (once, after it registered), answers to the messages it sent, and new mail.
struct SessionUpdate: Sendable {
    /// The mailbox was created or refreshed: delivery may start from its cursor.
    var mailbox: Mailbox?
    /// The mailbox could not be written; the session asks again later.
    var mailboxFailed = false
    /// Encoded `MESSAGE_ACK`s and refusals, in the order the messages were sent.
    var answers: [ByteBuffer] = []
    /// The first of this connection's messages the store failed to write (refused `server_busy`).
    var failedMessageID: String?
    /// Newly stored messages for this client, in row order.
    var deliveries: [MessageDelivery] = []
}
