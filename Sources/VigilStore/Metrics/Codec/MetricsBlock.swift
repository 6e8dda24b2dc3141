/// A sealed block: the rows of one host at one resolution over a span of time, stored by column.
///
/// Layout (every integer a LEB128 varint unless noted):
///
/// ```
/// u8      format version (1)
///         row count, column count
///         byte length of the names region
/// names   per column: bytes shared with the previous name, suffix length, suffix (UTF-8)
///         byte length of the timestamp stream
///         per column: u8 encoding (ColumnEncoding.byte), byte length of its stream
/// stream  timestamps: Int64 milliseconds, delta of delta (IntegerDeltaCodec, order 2)
/// stream  one per column, in header order
/// ```
///
/// Streams are byte-aligned and independent: a query parses the header, decodes the timestamps
/// and only the column it wants (see ``MetricsBlockReader``). The header stores each stream's
/// length rather than its offset because lengths are small varints; offsets are their running sum.
/// Names are front-coded because series share long prefixes (`disk.partitions[/].…`) and the names
/// would otherwise be a sizeable share of a block.
package struct MetricsBlock: Sendable {
    static let formatVersion: UInt8 = 1
    /// Bounds what a header may claim, so a damaged count cannot make a decoder allocate gigabytes.
    package static let maximumRows = 65_535
    package static let maximumColumns = 65_535

    package var timestamps: [Int64]
    package var columnNames: [String]
    /// One array per column, each with one value per timestamp.
    package var columns: [[Double]]

    package init(timestamps: [Int64], columnNames: [String], columns: [[Double]]) {
        precondition(timestamps.count <= Self.maximumRows, "too many rows for one block")
        precondition(columnNames.count <= Self.maximumColumns, "too many columns for one block")
        precondition(columnNames.count == columns.count, "one value array per column")
        precondition(columns.allSatisfy { $0.count == timestamps.count }, "one value per row in every column")
        self.timestamps = timestamps
        self.columnNames = columnNames
        self.columns = columns
    }

    package func encoded() -> [UInt8] {
        var names = ByteWriter(capacity: self.columnNames.count * 16)
        var previous: [UInt8] = []
        for name in self.columnNames {
            let utf8 = Array(name.utf8)
            var shared = 0
            let limit = Swift.min(previous.count, utf8.count)
            while shared < limit && previous[shared] == utf8[shared] { shared += 1 }
            names.write(varint: shared)
            names.write(varint: utf8.count - shared)
            names.write(bytes: utf8[shared...])
            previous = utf8
        }

        var timestamps = ByteWriter(capacity: self.timestamps.count + 16)
        IntegerDeltaCodec.encode(self.timestamps, order: 2, into: &timestamps)
        let streams = self.columns.map(ColumnEncoding.encodeSmallest)

        var out = ByteWriter(capacity: 32 + names.count + timestamps.count + streams.reduce(0) { $0 + $1.bytes.count + 4 })
        out.write(byte: Self.formatVersion)
        out.write(varint: self.timestamps.count)
        out.write(varint: self.columnNames.count)
        out.write(varint: names.count)
        out.write(bytes: names.bytes)
        out.write(varint: timestamps.count)
        for stream in streams {
            out.write(byte: stream.encoding.byte)
            out.write(varint: stream.bytes.count)
        }
        out.write(bytes: timestamps.bytes)
        for stream in streams {
            out.write(bytes: stream.bytes)
        }
        return out.bytes
    }

    /// Decodes every column of an encoded block.
    package init(decoding buffer: UnsafeRawBufferPointer) throws(MetricsCodecError) {
        let reader = try MetricsBlockReader(buffer)
        var columns: [[Double]] = []
        columns.reserveCapacity(reader.columnCount)
        for index in 0..<reader.columnCount {
            columns.append(try reader.values(ofColumn: index))
        }
        self.init(timestamps: try reader.timestamps(), columnNames: try reader.columnNames(), columns: columns)
    }

    /// Decodes every column of an encoded block (throws ``MetricsCodecError``).
    package init(decoding bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { buffer in try MetricsBlock(decoding: buffer) }
    }
}
