/// Reads bytes and varints from a borrowed buffer, checking every access against its end.
///
/// It reads in place (no copy of the block), so it must not outlive the buffer it was made from:
/// it is only created inside `withUnsafeBytes`-style closures.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    private(set) var position: Int
    let end: Int

    /// A reader over `range` of `buffer` (all of it by default).
    init(_ buffer: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.buffer = buffer
        let range = range ?? 0..<buffer.count
        precondition(range.lowerBound >= 0 && range.upperBound <= buffer.count)
        self.position = range.lowerBound
        self.end = range.upperBound
    }

    var isAtEnd: Bool { self.position == self.end }
    var remaining: Int { self.end - self.position }

    mutating func readByte(_ what: @autoclosure () -> String) throws(MetricsCodecError) -> UInt8 {
        guard self.position < self.end else { throw .truncated(what()) }
        let byte = self.buffer[self.position]
        self.position += 1
        return byte
    }

    mutating func readVarint(_ what: @autoclosure () -> String) throws(MetricsCodecError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard self.position < self.end else { throw .truncated(what()) }
            let byte = self.buffer[self.position]
            self.position += 1
            if shift == 63 && byte > 1 { throw .corrupt("\(what()): varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { throw .corrupt("\(what()): varint longer than 10 bytes") }
        }
    }

    /// A varint that must fit `0...limit` (a count or a length), as an `Int`.
    mutating func readCount(_ what: @autoclosure () -> String, limit: Int) throws(MetricsCodecError) -> Int {
        let value = try self.readVarint(what())
        guard value <= UInt64(limit) else { throw .corrupt("\(what()) is \(value), more than \(limit)") }
        return Int(value)
    }

    mutating func readZigZag(_ what: @autoclosure () -> String) throws(MetricsCodecError) -> Int64 {
        ZigZag.decode(try self.readVarint(what()))
    }

    /// Skips `count` bytes and returns their range in the buffer.
    mutating func readRange(count: Int, _ what: @autoclosure () -> String) throws(MetricsCodecError) -> Range<Int> {
        guard count >= 0, count <= self.remaining else { throw .truncated(what()) }
        let range = self.position..<(self.position + count)
        self.position += count
        return range
    }
}
