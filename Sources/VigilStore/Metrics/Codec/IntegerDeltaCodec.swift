/// Integer sequences as zigzag varints of their deltas (order 1) or deltas of deltas (order 2).
///
/// Layout: the first value, then (order 2 only) the first delta, then one varint per following
/// difference. A run of zero differences is written as a `0` byte and the varint `run - 1`, so a
/// perfectly regular clock or a constant costs two bytes per run instead of one byte per row.
/// Arithmetic wraps, so any `Int64` sequence round-trips exactly and damaged input cannot trap.
enum IntegerDeltaCodec {
    static func encode(_ values: [Int64], order: Int, into writer: inout ByteWriter) {
        precondition(order == 1 || order == 2)
        guard let first = values.first else { return }
        writer.write(zigzag: first)
        guard values.count > 1 else { return }
        var previousDelta: Int64 = 0
        var index = 1
        if order == 2 {
            previousDelta = values[1] &- values[0]
            writer.write(zigzag: previousDelta)
            index = 2
        }
        while index < values.count {
            let delta = values[index] &- values[index - 1]
            let difference = order == 2 ? delta &- previousDelta : delta
            if difference == 0 {
                var run = 1
                while index + run < values.count {
                    let nextDelta = values[index + run] &- values[index + run - 1]
                    // With order 2 a zero difference keeps the delta, so the run continues while it stays equal.
                    if nextDelta != delta { break }
                    run += 1
                }
                writer.write(byte: 0)
                writer.write(varint: run - 1)
                index += run
            } else {
                writer.write(zigzag: difference)
                index += 1
            }
            previousDelta = delta
        }
    }

    static func decode(count: Int, order: Int, from reader: inout ByteReader) throws(MetricsCodecError) -> [Int64] {
        precondition(order == 1 || order == 2)
        guard count > 0 else { return [] }
        var values: [Int64] = []
        values.reserveCapacity(count)
        var value = try reader.readZigZag("first value")
        values.append(value)
        var delta: Int64 = 0
        if order == 2 && count > 1 {
            delta = try reader.readZigZag("first delta")
            value = value &+ delta
            values.append(value)
        }
        while values.count < count {
            let token = try reader.readVarint("difference")
            if token == 0 {
                let extra = try reader.readVarint("run length")
                guard extra < UInt64(count - values.count) else { throw .corrupt("run of \(extra + 1) rows past the row count") }
                let run = Int(extra) + 1
                // Order 2: the delta is unchanged. Order 1: the delta is zero.
                let step = order == 2 ? delta : 0
                for _ in 0..<run {
                    value = value &+ step
                    values.append(value)
                }
            } else {
                let difference = ZigZag.decode(token)
                if order == 2 {
                    delta = delta &+ difference
                    value = value &+ delta
                } else {
                    value = value &+ difference
                }
                values.append(value)
            }
        }
        return values
    }
}
