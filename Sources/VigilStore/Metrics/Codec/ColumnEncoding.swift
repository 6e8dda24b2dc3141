/// How one value column of a block is stored, written as one header byte: the kind in the high
/// nibble, the decimal scale k in the low nibble.
enum ColumnEncoding: Equatable {
    /// Gorilla XOR of the raw doubles (any values).
    case gorilla
    /// Values × 10^k as integers, zigzag varints of delta of delta (steady counters).
    case decimalDeltaOfDelta(scale: Int)
    /// Values × 10^k as integers, zigzag varints of delta (gauges that wander).
    case decimalDelta(scale: Int)

    var byte: UInt8 {
        switch self {
        case .gorilla: 0x00
        case .decimalDeltaOfDelta(let k): 0x10 | UInt8(k)
        case .decimalDelta(let k): 0x20 | UInt8(k)
        }
    }

    init(byte: UInt8) throws(MetricsCodecError) {
        let k = Int(byte & 0x0F)
        switch byte >> 4 {
        case 0 where k == 0: self = .gorilla
        case 1 where k <= DecimalScale.maximumScale: self = .decimalDeltaOfDelta(scale: k)
        case 2 where k <= DecimalScale.maximumScale: self = .decimalDelta(scale: k)
        default: throw .corrupt("unknown column encoding 0x\(String(byte, radix: 16))")
        }
    }

    /// Encodes a column in every applicable encoding and keeps the smallest.
    static func encodeSmallest(_ values: [Double]) -> (encoding: ColumnEncoding, bytes: [UInt8]) {
        var best: (encoding: ColumnEncoding, bytes: [UInt8])
        if let k = DecimalScale.scale(of: values) {
            let integers = DecimalScale.integers(of: values, scale: k)
            var secondOrder = ByteWriter(capacity: values.count + 8)
            IntegerDeltaCodec.encode(integers, order: 2, into: &secondOrder)
            var firstOrder = ByteWriter(capacity: values.count + 8)
            IntegerDeltaCodec.encode(integers, order: 1, into: &firstOrder)
            best = secondOrder.count <= firstOrder.count
                ? (.decimalDeltaOfDelta(scale: k), secondOrder.bytes)
                : (.decimalDelta(scale: k), firstOrder.bytes)
            let gorilla = GorillaCodec.encode(values)
            if gorilla.count < best.bytes.count { best = (.gorilla, gorilla) }
            return best
        }
        return (.gorilla, GorillaCodec.encode(values))
    }

    func decode(count: Int, from buffer: UnsafeRawBufferPointer, range: Range<Int>) throws(MetricsCodecError) -> [Double] {
        switch self {
        case .gorilla:
            return try GorillaCodec.decode(count: count, from: buffer, range: range)
        case .decimalDeltaOfDelta(let k), .decimalDelta(let k):
            var reader = ByteReader(buffer, range: range)
            let order = if case .decimalDelta = self { 1 } else { 2 }
            let integers = try IntegerDeltaCodec.decode(count: count, order: order, from: &reader)
            guard reader.isAtEnd else { throw .corrupt("decimal stream has \(reader.remaining) trailing bytes") }
            return DecimalScale.doubles(of: integers, scale: k)
        }
    }
}
