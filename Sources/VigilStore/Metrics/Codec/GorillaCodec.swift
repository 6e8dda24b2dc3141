/// Doubles in the XOR encoding of Facebook's Gorilla paper (Pelkonen et al., VLDB 2015, §4.1.2).
///
/// The first value takes 64 bits. Each later value is XORed with the previous one: an equal value
/// costs a single `0` bit; otherwise `1` is followed by `0` and the meaningful bits when they fit
/// the previous window of leading and trailing zeros, or by `1`, 5 bits of leading zeros, 6 bits
/// of meaningful length (64 written as 0) and the meaningful bits. Lossless for every bit pattern,
/// NaN payloads and infinities included, which is why it is the fallback for any column.
enum GorillaCodec {
    static func encode(_ values: [Double]) -> [UInt8] {
        guard let first = values.first else { return [] }
        var writer = BitWriter(capacity: values.count * 2 + 8)
        var previous = first.bitPattern
        writer.write(previous, bits: 64)
        var windowLeading = -1  // no window yet
        var windowTrailing = 0
        for value in values.dropFirst() {
            let bits = value.bitPattern
            let xor = bits ^ previous
            previous = bits
            if xor == 0 {
                writer.write(bit: false)
                continue
            }
            writer.write(bit: true)
            let leading = Swift.min(xor.leadingZeroBitCount, 31)
            let trailing = xor.trailingZeroBitCount
            if windowLeading >= 0 && leading >= windowLeading && trailing >= windowTrailing {
                writer.write(bit: false)
                writer.write(xor >> UInt64(windowTrailing), bits: 64 - windowLeading - windowTrailing)
            } else {
                let meaningful = 64 - leading - trailing
                writer.write(bit: true)
                writer.write(UInt64(leading), bits: 5)
                writer.write(UInt64(meaningful & 63), bits: 6)
                writer.write(xor >> UInt64(trailing), bits: meaningful)
                windowLeading = leading
                windowTrailing = trailing
            }
        }
        return writer.finished()
    }

    static func decode(count: Int, from buffer: UnsafeRawBufferPointer, range: Range<Int>) throws(MetricsCodecError) -> [Double] {
        guard count > 0 else {
            guard range.isEmpty else { throw .corrupt("float stream of an empty column is not empty") }
            return []
        }
        // Every value after the first costs at least one bit: reject counts the bytes cannot hold
        // before allocating for them.
        guard count - 1 <= range.count * 8 - 64 else { throw .truncated("float stream too short for \(count) values") }
        var reader = BitReader(buffer, range: range)
        var values: [Double] = []
        values.reserveCapacity(count)
        var previous = try reader.read(bits: 64)
        values.append(Double(bitPattern: previous))
        var windowLeading = -1
        var windowTrailing = 0
        for _ in 1..<count {
            if try reader.readBit() {
                let xor: UInt64
                if try reader.readBit() {
                    let leading = Int(try reader.read(bits: 5))
                    var meaningful = Int(try reader.read(bits: 6))
                    if meaningful == 0 { meaningful = 64 }
                    guard leading + meaningful <= 64 else { throw .corrupt("float window of \(leading) + \(meaningful) bits") }
                    let trailing = 64 - leading - meaningful
                    xor = try reader.read(bits: meaningful) << UInt64(trailing)
                    windowLeading = leading
                    windowTrailing = trailing
                } else {
                    guard windowLeading >= 0 else { throw .corrupt("float value reuses a window before any was set") }
                    xor = try reader.read(bits: 64 - windowLeading - windowTrailing) << UInt64(windowTrailing)
                }
                previous ^= xor
            }
            values.append(Double(bitPattern: previous))
        }
        guard try reader.isAtPaddedEnd() else { throw .corrupt("float stream has trailing data") }
        return values
    }
}
