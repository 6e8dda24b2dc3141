/// Reads bit fields, most significant bit first, from a byte range of a borrowed buffer, throwing
/// when a field runs past the end.
struct BitReader {
    private let buffer: UnsafeRawBufferPointer
    private var bitPosition: Int
    private let bitEnd: Int

    init(_ buffer: UnsafeRawBufferPointer, range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= buffer.count)
        self.buffer = buffer
        self.bitPosition = range.lowerBound * 8
        self.bitEnd = range.upperBound * 8
    }

    var remainingBits: Int { self.bitEnd - self.bitPosition }

    /// Reads `count` (0...64) bits as the low bits of the result.
    mutating func read(bits count: Int) throws(MetricsCodecError) -> UInt64 {
        guard count <= self.remainingBits else { throw .truncated("float stream ends inside a value") }
        var result: UInt64 = 0
        var remaining = count
        while remaining > 0 {
            let byte = self.buffer[self.bitPosition >> 3]
            let available = 8 - (self.bitPosition & 7)
            let take = Swift.min(available, remaining)
            let chunk = (UInt64(byte) >> UInt64(available - take)) & ((1 << UInt64(take)) - 1)
            result = (result << UInt64(take)) | chunk
            self.bitPosition += take
            remaining -= take
        }
        return result
    }

    mutating func readBit() throws(MetricsCodecError) -> Bool {
        try self.read(bits: 1) == 1
    }

    /// Whether only zero padding (fewer than 8 bits) is left, as a well-formed stream ends.
    func isAtPaddedEnd() throws(MetricsCodecError) -> Bool {
        guard self.remainingBits < 8 else { return false }
        var copy = self
        return try copy.read(bits: self.remainingBits) == 0
    }
}
