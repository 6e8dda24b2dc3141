/// Appends bytes and LEB128 varints to a growing buffer.
///
/// Varints keep small integers (deltas, counts, lengths) to one byte; zigzag maps signed values
/// near zero to small unsigned ones so negative deltas stay short too.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) {
        self.bytes.reserveCapacity(capacity)
    }

    var count: Int { self.bytes.count }

    mutating func write(byte: UInt8) {
        self.bytes.append(byte)
    }

    mutating func write(bytes: some Sequence<UInt8>) {
        self.bytes.append(contentsOf: bytes)
    }

    mutating func write(varint value: UInt64) {
        var value = value
        while value >= 0x80 {
            self.bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        self.bytes.append(UInt8(value))
    }

    mutating func write(varint value: Int) {
        precondition(value >= 0, "unsigned varints only")
        self.write(varint: UInt64(value))
    }

    mutating func write(zigzag value: Int64) {
        self.write(varint: ZigZag.encode(value))
    }
}
