/// Reads a ``MetricsBlock`` in place: parses the header, then decodes only the streams asked for.
///
/// A query for one series decodes the timestamps and one column (five for a rollup) out of a
/// hundred, which is what makes a columnar block worth it. The reader borrows the buffer: create it
/// inside the closure that owns the bytes and do not let it escape.
package struct MetricsBlockReader {
    private let buffer: UnsafeRawBufferPointer
    package let rowCount: Int
    package let columnCount: Int
    private let namesRange: Range<Int>
    /// Where the timestamp stream lies in the buffer.
    let timestampRange: Range<Int>
    private let encodings: [ColumnEncoding]
    /// Where each column's stream lies in the buffer.
    let streamRanges: [Range<Int>]

    package init(_ buffer: UnsafeRawBufferPointer) throws(MetricsCodecError) {
        self.buffer = buffer
        var reader = ByteReader(buffer)
        let version = try reader.readByte("format version")
        guard version == MetricsBlock.formatVersion else { throw .unsupportedVersion(version) }
        self.rowCount = try reader.readCount("row count", limit: MetricsBlock.maximumRows)
        self.columnCount = try reader.readCount("column count", limit: MetricsBlock.maximumColumns)
        let namesLength = try reader.readCount("names length", limit: buffer.count)
        self.namesRange = try reader.readRange(count: namesLength, "column names")
        let timestampLength = try reader.readCount("timestamp stream length", limit: buffer.count)
        var encodings: [ColumnEncoding] = []
        var lengths: [Int] = []
        encodings.reserveCapacity(self.columnCount)
        lengths.reserveCapacity(self.columnCount)
        var total = timestampLength
        for _ in 0..<self.columnCount {
            encodings.append(try ColumnEncoding(byte: try reader.readByte("column encoding")))
            let length = try reader.readCount("column stream length", limit: buffer.count)
            lengths.append(length)
            total += length
            guard total <= reader.remaining else { throw .truncated("streams end after the block") }
        }
        guard total == reader.remaining else {
            throw total < reader.remaining ? .corrupt("\(reader.remaining - total) bytes after the last stream") : .truncated("streams end after the block")
        }
        var offset = reader.position
        self.timestampRange = offset..<(offset + timestampLength)
        offset += timestampLength
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(self.columnCount)
        for length in lengths {
            ranges.append(offset..<(offset + length))
            offset += length
        }
        self.encodings = encodings
        self.streamRanges = ranges
    }

    package func timestamps() throws(MetricsCodecError) -> [Int64] {
        var reader = ByteReader(self.buffer, range: self.timestampRange)
        let values = try IntegerDeltaCodec.decode(count: self.rowCount, order: 2, from: &reader)
        guard reader.isAtEnd else { throw .corrupt("timestamp stream has \(reader.remaining) trailing bytes") }
        return values
    }

    package func values(ofColumn index: Int) throws(MetricsCodecError) -> [Double] {
        precondition(index >= 0 && index < self.columnCount)
        return try self.encodings[index].decode(count: self.rowCount, from: self.buffer, range: self.streamRanges[index])
    }

    func encoding(ofColumn index: Int) -> ColumnEncoding {
        self.encodings[index]
    }

    /// Walks the front-coded names, calling `body` with each name's UTF-8 bytes and index.
    private func forEachName(_ body: (borrowing [UInt8], Int) -> Bool) throws(MetricsCodecError) {
        var reader = ByteReader(self.buffer, range: self.namesRange)
        var name: [UInt8] = []
        name.reserveCapacity(64)
        for index in 0..<self.columnCount {
            let shared = try reader.readCount("shared name prefix", limit: name.count)
            let suffixLength = try reader.readCount("name length", limit: reader.remaining)
            let suffix = try reader.readRange(count: suffixLength, "name")
            name.removeLast(name.count - shared)
            name.append(contentsOf: UnsafeRawBufferPointer(rebasing: self.buffer[suffix]))
            if !body(name, index) { return }
        }
        guard reader.isAtEnd else { throw .corrupt("names region has trailing bytes") }
    }

    package func columnNames() throws(MetricsCodecError) -> [String] {
        var names: [String] = []
        names.reserveCapacity(self.columnCount)
        try self.forEachName { name, _ in
            names.append(String(decoding: name, as: UTF8.self))
            return true
        }
        return names
    }

    /// The column index of each wanted name (UTF-8), nil where the block has no such column, found
    /// in one pass over the names without building strings.
    package func columnIndices(of wanted: [[UInt8]]) throws(MetricsCodecError) -> [Int?] {
        var found = [Int?](repeating: nil, count: wanted.count)
        var missing = wanted.count
        try self.forEachName { name, index in
            for slot in wanted.indices where found[slot] == nil && wanted[slot] == name {
                found[slot] = index
                missing -= 1
            }
            return missing > 0
        }
        return found
    }

    /// The raw bytes of the names region, to tell cheaply whether two blocks have the same columns.
    package var namesRegion: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self.buffer[self.namesRange])
    }
}
