import Foundation

/// The binary form of a row of an open block in the `head` table.
///
/// `data` holds the values as 8-byte little-endian doubles in column order, nothing else, so a row
/// costs exactly 8 bytes a value and `length(data) / 8` counts values in SQL. Only the first row of
/// an open block carries the column names (in the `names` column: a varint count, then per name a
/// varint length and its UTF-8 bytes); later rows of the block have the same columns by
/// construction, because a sample with other names seals the block first.
package enum HeadRow {
    package static func data(values: [Double]) -> Data {
        var data = Data(count: values.count * 8)
        data.withUnsafeMutableBytes { buffer in
            for (index, value) in values.enumerated() {
                buffer.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: index * 8, as: UInt64.self)
            }
        }
        return data
    }

    package static func data(names: [String]) -> Data {
        var writer = ByteWriter(capacity: names.count * 24 + 4)
        writer.write(varint: names.count)
        for name in names {
            writer.write(varint: name.utf8.count)
            writer.write(bytes: name.utf8)
        }
        return Data(writer.bytes)
    }

    package static func names(from buffer: UnsafeRawBufferPointer) throws(MetricsCodecError) -> [String] {
        var reader = ByteReader(buffer)
        let count = try reader.readCount("head name count", limit: Swift.min(buffer.count, MetricsBlock.maximumColumns))
        var names: [String] = []
        names.reserveCapacity(count)
        for _ in 0..<count {
            let length = try reader.readCount("head name length", limit: reader.remaining)
            let range = try reader.readRange(count: length, "head name")
            names.append(String(decoding: UnsafeRawBufferPointer(rebasing: buffer[range]), as: UTF8.self))
        }
        guard reader.isAtEnd else { throw .corrupt("head names have trailing bytes") }
        return names
    }

    /// How many values a row's data holds, checked against the block's column count.
    package static func checkedCount(of buffer: UnsafeRawBufferPointer, columns: Int) throws(MetricsCodecError) -> Int {
        guard buffer.count == columns * 8 else {
            throw .corrupt("head row has \(buffer.count) bytes for \(columns) columns")
        }
        return columns
    }

    @inline(__always)
    package static func value(at index: Int, in buffer: UnsafeRawBufferPointer) -> Double {
        Double(bitPattern: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)))
    }
}
