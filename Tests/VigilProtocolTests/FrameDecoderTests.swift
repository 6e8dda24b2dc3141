import NIOCore
import NIOEmbedded
import Testing
import VigilProtocol

/// Tests of `addVigilFraming(maxFrameSize:)`: `VigilFrameDecoder` inbound and `LengthFieldPrepender` outbound,
/// driven through an `EmbeddedChannel`.
///
/// How errors surface (found by experiment, and pinned down by these tests):
/// - an error thrown by `decode` (inside `writeInbound`) is rethrown by that same `writeInbound` call;
/// - an error thrown by `decodeLast` (when the channel closes) is rethrown by `finish()`.
@Suite("Frame decoder and prepender")
struct FrameDecoderTests {
    // MARK: Helpers

    /// A channel with Vigil framing installed.
    private func makeChannel(maxFrameSize: Int = 1024) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addVigilFraming(maxFrameSize: maxFrameSize)
        return channel
    }

    /// The 4-byte big-endian length followed by the payload.
    private func wire(_ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + payload
    }

    private func wire(_ payload: String) -> [UInt8] {
        self.wire(Array(payload.utf8))
    }

    private func buffer(_ bytes: [UInt8]) -> ByteBuffer {
        ByteBuffer(bytes: bytes)
    }

    /// Every frame the decoder has passed on so far, as byte arrays.
    private func readFrames(_ channel: EmbeddedChannel) throws -> [[UInt8]] {
        var frames: [[UInt8]] = []
        while let frame = try channel.readInbound(as: ByteBuffer.self) {
            frames.append(Array(frame.readableBytesView))
        }
        return frames
    }

    // MARK: Inbound: splitting

    @Test("one frame in one read")
    func oneFrameOneRead() throws {
        let channel = try self.makeChannel()
        try channel.writeInbound(self.buffer(self.wire("hello")))
        let frame = try #require(try channel.readInbound(as: ByteBuffer.self))
        #expect(frame.readableBytes == 5)
        #expect(String(buffer: frame) == "hello")
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test("a frame split across several reads is emitted once, when complete")
    func frameSplitAcrossReads() throws {
        let channel = try self.makeChannel()
        let bytes = self.wire("split-frame")  // 4 + 11 bytes
        // Split inside the length field, at the boundary, and inside the payload.
        try channel.writeInbound(self.buffer(Array(bytes[0..<2])))
        #expect(try self.readFrames(channel).isEmpty)
        try channel.writeInbound(self.buffer(Array(bytes[2..<4])))
        #expect(try self.readFrames(channel).isEmpty)
        try channel.writeInbound(self.buffer(Array(bytes[4..<9])))
        #expect(try self.readFrames(channel).isEmpty)
        try channel.writeInbound(self.buffer(Array(bytes[9...])))
        #expect(try self.readFrames(channel) == [Array("split-frame".utf8)])
        #expect(try channel.finish().isClean)
    }

    @Test("a frame delivered byte by byte")
    func frameByteByByte() throws {
        let channel = try self.makeChannel()
        let payload = Array("{\"type\":\"HEARTBEAT\"}".utf8)
        let bytes = self.wire(payload)
        for (index, byte) in bytes.enumerated() {
            try channel.writeInbound(self.buffer([byte]))
            let frames = try self.readFrames(channel)
            if index < bytes.count - 1 {
                #expect(frames.isEmpty, "frame emitted early, after \(index + 1) of \(bytes.count) bytes")
            } else {
                #expect(frames == [payload])
            }
        }
        #expect(try channel.finish().isClean)
    }

    @Test("two frames delivered byte by byte, back to back")
    func twoFramesByteByByte() throws {
        let channel = try self.makeChannel()
        let bytes = self.wire("first") + self.wire("second!")
        var frames: [[UInt8]] = []
        for byte in bytes {
            try channel.writeInbound(self.buffer([byte]))
            frames += try self.readFrames(channel)
        }
        #expect(frames == [Array("first".utf8), Array("second!".utf8)])
        #expect(try channel.finish().isClean)
    }

    @Test("several frames in one read come out in order")
    func severalFramesOneRead() throws {
        let channel = try self.makeChannel()
        let bytes = self.wire("a") + self.wire("bb") + self.wire([]) + self.wire("dddd")
        try channel.writeInbound(self.buffer(bytes))
        #expect(try self.readFrames(channel) == [Array("a".utf8), Array("bb".utf8), [], Array("dddd".utf8)])
        #expect(try channel.finish().isClean)
    }

    @Test("a read that ends inside the next frame keeps the rest for later")
    func frameAndAHalf() throws {
        let channel = try self.makeChannel()
        let second = self.wire("second")
        try channel.writeInbound(self.buffer(self.wire("first") + Array(second[0..<6])))
        #expect(try self.readFrames(channel) == [Array("first".utf8)])
        try channel.writeInbound(self.buffer(Array(second[6...])))
        #expect(try self.readFrames(channel) == [Array("second".utf8)])
        #expect(try channel.finish().isClean)
    }

    @Test("a zero-length frame yields an empty ByteBuffer")
    func zeroLengthFrame() throws {
        let channel = try self.makeChannel()
        try channel.writeInbound(self.buffer([0, 0, 0, 0]))
        let frame = try #require(try channel.readInbound(as: ByteBuffer.self))
        #expect(frame.readableBytes == 0)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        #expect(try channel.finish().isClean)
    }

    // MARK: Inbound: maximum size

    @Test("a length over the maximum fails as soon as the 4 header bytes arrive")
    func frameTooLargeOnHeader() throws {
        let channel = try self.makeChannel(maxFrameSize: 100)
        // Three header bytes: nothing to judge yet.
        try channel.writeInbound(self.buffer([0, 0, 0]))
        // The fourth completes the length 101: refused before any payload byte.
        #expect(throws: FrameError.frameTooLarge(declared: 101, limit: 100)) {
            try channel.writeInbound(self.buffer([101]))
        }
        #expect(try self.readFrames(channel).isEmpty)
        // Later bytes are refused too: the stream is out of step.
        #expect(throws: (any Error).self) {
            try channel.writeInbound(self.buffer(Array(repeating: 0x41, count: 101)))
        }
        #expect(try self.readFrames(channel).isEmpty)
        _ = try? channel.finish()
    }

    @Test("a huge announced length (0xFFFFFFFF) is refused with the exact declared size")
    func frameTooLargeHuge() throws {
        let channel = try self.makeChannel(maxFrameSize: 1_048_576)
        #expect(throws: FrameError.frameTooLarge(declared: 4_294_967_295, limit: 1_048_576)) {
            try channel.writeInbound(self.buffer([0xFF, 0xFF, 0xFF, 0xFF]))
        }
        _ = try? channel.finish()
    }

    @Test("a too-large second frame is refused after a good first frame in the same read")
    func frameTooLargeAfterGoodFrame() throws {
        let channel = try self.makeChannel(maxFrameSize: 8)
        #expect(throws: FrameError.frameTooLarge(declared: 9, limit: 8)) {
            try channel.writeInbound(self.buffer(self.wire("12345678") + [0, 0, 0, 9]))
        }
        #expect(try self.readFrames(channel) == [Array("12345678".utf8)])
        _ = try? channel.finish()
    }

    @Test("a frame of exactly the maximum size is accepted")
    func exactlyMaximum() throws {
        let channel = try self.makeChannel(maxFrameSize: 16)
        let payload = Array(repeating: UInt8(0x5A), count: 16)
        try channel.writeInbound(self.buffer(self.wire(payload)))
        #expect(try self.readFrames(channel) == [payload])
        #expect(try channel.finish().isClean)
    }

    @Test("a maximum of zero accepts empty frames and refuses a 1-byte frame")
    func maximumZero() throws {
        let channel = try self.makeChannel(maxFrameSize: 0)
        try channel.writeInbound(self.buffer([0, 0, 0, 0]))
        #expect(try self.readFrames(channel) == [[]])
        #expect(throws: FrameError.frameTooLarge(declared: 1, limit: 0)) {
            try channel.writeInbound(self.buffer([0, 0, 0, 1]))
        }
        _ = try? channel.finish()
    }

    // MARK: Inbound: end of stream

    @Test("a payload cut short then close reports truncatedFrame with declared and received counts")
    func truncatedPayload() throws {
        let channel = try self.makeChannel()
        try channel.writeInbound(self.buffer([0, 0, 0, 10] + Array("abc".utf8)))
        #expect(try self.readFrames(channel).isEmpty)
        #expect(throws: FrameError.truncatedFrame(declared: 10, received: 3)) {
            _ = try channel.finish()
        }
    }

    @Test("a payload cut short across several reads counts every byte received")
    func truncatedPayloadSeveralReads() throws {
        let channel = try self.makeChannel()
        try channel.writeInbound(self.buffer([0, 0, 1, 0]))  // 256 bytes announced
        try channel.writeInbound(self.buffer(Array(repeating: 1, count: 100)))
        try channel.writeInbound(self.buffer(Array(repeating: 2, count: 55)))
        #expect(throws: FrameError.truncatedFrame(declared: 256, received: 155)) {
            _ = try channel.finish()
        }
    }

    @Test("a length field with no payload then close reports truncatedFrame(received: 0)")
    func truncatedAfterHeader() throws {
        let channel = try self.makeChannel()
        try channel.writeInbound(self.buffer([0, 0, 0, 7]))
        #expect(throws: FrameError.truncatedFrame(declared: 7, received: 0)) {
            _ = try channel.finish()
        }
    }

    @Test("complete frames before a truncated one are still delivered")
    func completeFramesThenTruncated() throws {
        let channel = try self.makeChannel()
        try channel.writeInbound(self.buffer(self.wire("ok") + [0, 0, 0, 5, 0x78]))
        #expect(try self.readFrames(channel) == [Array("ok".utf8)])
        #expect(throws: FrameError.truncatedFrame(declared: 5, received: 1)) {
            _ = try channel.finish()
        }
    }

    @Test("two bytes of a length field then close reports truncatedLengthField(received: 2)")
    func truncatedLengthField() throws {
        let channel = try self.makeChannel()
        try channel.writeInbound(self.buffer([0, 0]))
        #expect(throws: FrameError.truncatedLengthField(received: 2)) {
            _ = try channel.finish()
        }
    }

    @Test("a partial length field after a complete frame reports truncatedLengthField")
    func truncatedLengthFieldAfterFrame() throws {
        let channel = try self.makeChannel()
        try channel.writeInbound(self.buffer(self.wire("x") + [0, 0, 0]))
        #expect(try self.readFrames(channel) == [Array("x".utf8)])
        #expect(throws: FrameError.truncatedLengthField(received: 3)) {
            _ = try channel.finish()
        }
    }

    @Test("close at a frame boundary is clean")
    func cleanCloseAtBoundary() throws {
        let channel = try self.makeChannel()
        try channel.writeInbound(self.buffer(self.wire("done")))
        #expect(try self.readFrames(channel) == [Array("done".utf8)])
        #expect(try channel.finish().isClean)
    }

    @Test("close with no bytes ever received is clean")
    func closeWithNoBytesEverIsClean() throws {
        let channel = try self.makeChannel()
        #expect(try channel.finish().isClean)
    }

    // MARK: Outbound

    @Test("writing a ByteBuffer sends the 4-byte big-endian length, then the bytes")
    func outboundPrependsLength() throws {
        let channel = try self.makeChannel()
        let payload = Array(repeating: UInt8(0xAB), count: 0x0102)  // 258 bytes: both low bytes of the length matter
        try channel.writeOutbound(ByteBuffer(bytes: payload))
        var written: [UInt8] = []
        while let chunk = try channel.readOutbound(as: ByteBuffer.self) {
            written += Array(chunk.readableBytesView)
        }
        #expect(written.count == 4 + 258)
        #expect(Array(written[0..<4]) == [0x00, 0x00, 0x01, 0x02])
        #expect(Array(written[4...]) == payload)
        #expect(try channel.finish().isClean)
    }

    @Test("writing a short ByteBuffer: exact bytes on the wire")
    func outboundExactBytes() throws {
        let channel = try self.makeChannel()
        try channel.writeOutbound(ByteBuffer(string: "hi!"))
        var written: [UInt8] = []
        while let chunk = try channel.readOutbound(as: ByteBuffer.self) {
            written += Array(chunk.readableBytesView)
        }
        #expect(written == [0, 0, 0, 3, 0x68, 0x69, 0x21])
        #expect(try channel.finish().isClean)
    }

    @Test("writing an empty ByteBuffer sends a zero length")
    func outboundEmpty() throws {
        let channel = try self.makeChannel()
        try channel.writeOutbound(ByteBuffer())
        var written: [UInt8] = []
        while let chunk = try channel.readOutbound(as: ByteBuffer.self) {
            written += Array(chunk.readableBytesView)
        }
        #expect(written == [0, 0, 0, 0])
        #expect(try channel.finish().isClean)
    }

    @Test("what one channel writes, another decodes back to the same payloads")
    func outboundInboundRoundTrip() throws {
        let sender = try self.makeChannel()
        let receiver = try self.makeChannel()
        let payloads = ["{\"type\":\"HEARTBEAT\"}", "", "ünïcødé"]
        for payload in payloads {
            try sender.writeOutbound(ByteBuffer(string: payload))
        }
        while let chunk = try sender.readOutbound(as: ByteBuffer.self) {
            try receiver.writeInbound(chunk)
        }
        let frames = try self.readFrames(receiver).map { String(decoding: $0, as: UTF8.self) }
        #expect(frames == payloads)
        #expect(try sender.finish().isClean)
        #expect(try receiver.finish().isClean)
    }
}
