import NIOCore
import NIOExtras

/// Splits the inbound byte stream into Vigil frames: a 4-byte big-endian length, then that many bytes.
///
/// The splitting itself is NIOExtras' `LengthFieldBasedFrameDecoder`; this wrapper adds what that
/// decoder lacks for a protocol facing the internet:
/// - the configured maximum is enforced as soon as the 4 length bytes arrive, so a peer that announces
///   a 4 GiB frame is refused at once instead of after we have buffered a megabyte of it;
/// - a stream that ends inside a frame is reported precisely (how many bytes of which frame arrived).
public final class VigilFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    private let inner = LengthFieldBasedFrameDecoder(lengthFieldBitLength: .thirtyTwoBits, lengthFieldEndianness: .big)
    private let maxFrameSize: Int
    /// The declared length of the frame being read, or `nil` when the next bytes are a length field.
    private var declaredLength: Int?

    /// - Parameter maxFrameSize: The largest payload accepted, in bytes (the length field's value).
    public init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    public func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if self.declaredLength == nil, let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) {
            guard Int(length) <= self.maxFrameSize else {
                throw FrameError.frameTooLarge(declared: Int(length), limit: self.maxFrameSize)
            }
            self.declaredLength = Int(length)
        }
        let state = try self.inner.decode(context: context, buffer: &buffer)
        if case .continue = state {
            // The inner decoder emitted a whole frame: the next bytes are a length field again.
            self.declaredLength = nil
        }
        return state
    }

    public func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while case .continue = try self.decode(context: context, buffer: &buffer) {}
        if let declared = self.declaredLength {
            // The inner decoder has consumed the length field: what is left is that frame's partial payload.
            let received = buffer.readableBytes
            buffer.moveReaderIndex(to: buffer.writerIndex)
            throw FrameError.truncatedFrame(declared: declared, received: received)
        }
        if buffer.readableBytes > 0 {
            let received = buffer.readableBytes
            buffer.moveReaderIndex(to: buffer.writerIndex)
            throw FrameError.truncatedLengthField(received: received)
        }
        return .needMoreData
    }
}

@available(*, unavailable)
extension VigilFrameDecoder: Sendable {}
