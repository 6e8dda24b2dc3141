import NIOCore
import NIOEmbedded
import VigilProtocol

/// Fuzz target for the framing (`addVigilFraming(maxFrameSize:)`, ``VigilFrameDecoder``): a byte
/// stream, cut into chunks of varying size, through an `EmbeddedChannel` as a connection would
/// deliver it, then the end of the stream.
///
/// Input layout: byte 0 picks the maximum frame size, byte 1 seeds the chunk sizes, the rest is
/// the stream. Besides "never crashes", it checks that the frames the decoder emits are exactly
/// the stream's frames, in order, each within the maximum, and that a stream which ended cleanly
/// was consumed whole.
public enum FrameFuzzer {
    /// Maximum frame sizes the first byte chooses from: the edges (0, 1) and the sizes around a
    /// length field's worth of bytes, up to the server's real default (1 MiB).
    static let maxFrameSizes = [0, 1, 3, 4, 5, 255, 4096, 1 << 20]

    public static func run(_ input: UnsafeRawBufferPointer) {
        guard input.count >= 2 else { return }
        let maxFrameSize = Self.maxFrameSizes[Int(input[0]) % Self.maxFrameSizes.count]
        var chunks = ChunkSizes(seed: input[1])
        let stream = UnsafeRawBufferPointer(rebasing: input[2...])

        let channel = EmbeddedChannel()
        do {
            try channel.pipeline.syncOperations.addVigilFraming(maxFrameSize: maxFrameSize)
        } catch {
            preconditionFailure("adding the framing to an EmbeddedChannel failed: \(error)")
        }
        var frames: [ByteBuffer] = []
        var failed = false
        var offset = 0
        while offset < stream.count, !failed {
            let length = min(chunks.next(), stream.count - offset)
            let chunk = channel.allocator.buffer(bytes: UnsafeRawBufferPointer(rebasing: stream[offset..<(offset + length)]))
            offset += length
            do {
                try channel.writeInbound(chunk)
            } catch {
                failed = true  // FrameError: the connection would be closed here
            }
            Self.drain(channel, into: &frames)
        }
        do {
            _ = try channel.finish(acceptAlreadyClosed: true)  // decodeLast: truncated frames are reported here
        } catch {
            failed = true
        }
        Self.drain(channel, into: &frames)
        Self.check(frames, against: stream, maxFrameSize: maxFrameSize, endedCleanly: !failed)
    }

    private static func drain(_ channel: EmbeddedChannel, into frames: inout [ByteBuffer]) {
        while let frame = try? channel.readInbound(as: ByteBuffer.self) {
            frames.append(frame)
        }
    }

    /// Re-frames what was decoded and compares it with the stream.
    private static func check(_ frames: [ByteBuffer], against stream: UnsafeRawBufferPointer, maxFrameSize: Int, endedCleanly: Bool) {
        var position = 0
        for frame in frames {
            precondition(frame.readableBytes <= maxFrameSize, "a frame of \(frame.readableBytes) bytes passed a maximum of \(maxFrameSize)")
            precondition(position + 4 + frame.readableBytes <= stream.count, "more frame bytes decoded than the stream holds")
            let declared = stream.loadUnaligned(fromByteOffset: position, as: UInt32.self).bigEndian
            precondition(Int(declared) == frame.readableBytes, "frame length \(frame.readableBytes) differs from its length field \(declared)")
            position += 4
            precondition(frame.readableBytesView.elementsEqual(stream[position..<(position + frame.readableBytes)]), "frame bytes differ from the stream")
            position += frame.readableBytes
        }
        if endedCleanly {
            precondition(position == stream.count, "the stream ended cleanly but \(stream.count - position) bytes were never framed")
        }
    }
}

/// Chunk sizes from a one-byte seed: small ones (1 to 8 bytes, to split length fields anywhere),
/// middling and large ones (several frames at once). After ``maxChunks`` the rest comes in one
/// piece: every write costs a trip through the pipeline, and a few cuts per input find what
/// thousands would.
struct ChunkSizes {
    static let maxChunks = 32
    private var state: UInt32
    private var count = 0

    init(seed: UInt8) {
        self.state = 0x9E37_79B9 ^ UInt32(seed)
    }

    mutating func next() -> Int {
        self.count += 1
        guard self.count < Self.maxChunks else { return Int.max }
        // xorshift32: deterministic, so a crashing input replays the same chunking.
        self.state ^= self.state << 13
        self.state ^= self.state >> 17
        self.state ^= self.state << 5
        switch self.state % 8 {
        case 0..<3: return Int(self.state >> 8) % 8 + 1
        case 3, 4: return Int(self.state >> 8) % 64 + 1
        default: return Int(self.state >> 8) % 4096 + 1
        }
    }
}
