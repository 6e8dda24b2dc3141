/// Appends bit fields, most significant bit first, to a byte buffer (for the Gorilla float encoding,
/// whose fields are not byte-aligned). Bits gather in a 64-bit word that is flushed whole; the last
/// byte is padded with zero bits.
struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private var word: UInt64 = 0  // pending bits, from the top
    private var used = 0  // bits pending in `word`, 0..<64

    init(capacity: Int = 0) {
        self.bytes.reserveCapacity(capacity)
    }

    /// Writes the low `count` bits of `value` (0...64 bits).
    mutating func write(_ value: UInt64, bits count: Int) {
        precondition(count >= 0 && count <= 64)
        guard count > 0 else { return }
        let value = count == 64 ? value : value & ((1 &<< UInt64(count)) &- 1)
        let free = 64 - self.used
        if count < free {
            self.word |= value &<< UInt64(free - count)
            self.used += count
        } else {
            let rest = count - free  // bits that do not fit, 0..<64
            self.word |= rest == 0 ? value : value &>> UInt64(rest)
            self.flushWord()
            self.word = rest == 0 ? 0 : value &<< UInt64(64 - rest)
            self.used = rest
        }
    }

    mutating func write(bit: Bool) {
        self.write(bit ? 1 : 0, bits: 1)
    }

    private mutating func flushWord() {
        withUnsafeBytes(of: self.word.bigEndian) { self.bytes.append(contentsOf: $0) }
    }

    /// The bytes written, the last one padded with zeros.
    func finished() -> [UInt8] {
        guard self.used > 0 else { return self.bytes }
        var bytes = self.bytes
        withUnsafeBytes(of: self.word.bigEndian) { bytes.append(contentsOf: $0.prefix((self.used + 7) / 8)) }
        return bytes
    }
}
