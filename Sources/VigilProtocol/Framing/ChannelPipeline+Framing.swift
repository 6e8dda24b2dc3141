import NIOCore
import NIOExtras

extension ChannelPipeline.SynchronousOperations {
    /// Adds Vigil's framing: inbound bytes become one `ByteBuffer` per frame payload, and each outbound
    /// `ByteBuffer` is written with its 4-byte big-endian length in front.
    ///
    /// - Parameter maxFrameSize: The largest inbound payload accepted, in bytes.
    public func addVigilFraming(maxFrameSize: Int) throws {
        try self.addHandler(ByteToMessageHandler(VigilFrameDecoder(maxFrameSize: maxFrameSize)))
        try self.addHandler(LengthFieldPrepender(lengthFieldBitLength: .thirtyTwoBits, lengthFieldEndianness: .big))
    }
}
