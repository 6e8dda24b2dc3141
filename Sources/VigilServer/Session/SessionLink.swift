import NIOCore
import VigilProtocol

/// What the parts of a registered session (its mailbox, its uploads and pushes) may ask of their
/// connection. Used on the connection's event loop only.
struct SessionLink {
    /// The registered identity: the host name for agents, the person's name for users.
    let clientID: String
    let kind: ClientKind
    let connectionID: UInt64
    let context: ChannelHandlerContext
    /// Stops or resumes reading for one reason.
    let pauseReading: (ReadPause, Bool) -> Void
    /// Sends a `SERVER_RESPONSE` that does not close the connection (refusals that are not protocol errors).
    let respond: (ServerResponsePayload) -> Void
    /// Answers with a fatal error and closes the connection.
    let fail: (ErrorCode, String) -> Void

    /// Writes an envelope from the server (sender `server`, timestamp now) and flushes it.
    func send(_ body: Envelope.Body, messageID: String? = nil) {
        self.send(Envelope(body, senderID: "server", timestamp: ServerClock.unixNow, messageID: messageID))
    }

    /// Writes an envelope as it is (relayed messages keep their original sender and id) and flushes it.
    func send(_ envelope: Envelope) {
        self.context.writeAndFlush(NIOAny(envelope.encodedFrame(allocator: self.context.channel.allocator)), promise: nil)
    }
}
