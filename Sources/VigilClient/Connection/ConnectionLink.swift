import NIOCore

/// One open connection, as the parts that write to it see it.
///
/// Control frames (register, heartbeats, messages, offers) go through ``channel`` at once; file data
/// goes through ``outbound``, whose writes wait while the channel is not writable (NIO's
/// backpressure), so a fast disk cannot fill memory ahead of a slow network.
struct ConnectionLink: Sendable {
    /// Which connection of the client's life this is; events of an older one are ignored.
    let generation: UInt64
    let channel: any Channel
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

    /// Writes and flushes one frame payload (the framing adds the length).
    func write(_ frame: ByteBuffer) {
        self.channel.writeAndFlush(frame, promise: nil)
    }
}

/// A registered connection, handed to a file sender: where to write data frames, and the server's limits.
struct RegisteredLink: Sendable {
    let link: ConnectionLink
    /// The largest frame payload the server accepts.
    let serverMaxFrameSize: Int
}
