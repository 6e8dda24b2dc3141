import VigilStore

/// Cuts one (host, level)'s head rows into blocks: runs of rows with the same columns, each cut
/// into blocks of `blockRows`. Every block is sealed except the newest run's last block while it is
/// not full, whose rows stay in the head table as the open block. This is where
/// ``SQLiteMetricsStore`` seals too (a full block, a change of columns), so both stores cut the
/// same blocks; it also seals rows left by a write that committed its rows but not their seal.
enum MetricsSealer {
    struct Row {
        var ms: Int64
        var shape: Int64
        var values: [Double]
    }

    struct Block {
        var startMs: Int64
        var endMs: Int64
        var rows: Int
        var columns: Int
        var shape: Int64
        var data: [UInt8]
    }

    /// - Parameter rows: The level's head rows, oldest first.
    /// - Returns: The blocks to write and how many trailing rows stay open (all of the last shape).
    static func seal(_ rows: [Row], names: [Int64: [String]], blockRows: Int) throws -> (blocks: [Block], openRows: Int) {
        var blocks: [Block] = []
        var start = 0
        while start < rows.count {
            var end = start
            while end < rows.count && rows[end].shape == rows[start].shape && end - start < blockRows { end += 1 }
            let full = end - start == blockRows
            let runEnds = end < rows.count  // another shape (or the next block of this one) follows
            guard full || runEnds else { return (blocks, end - start) }
            blocks.append(try self.block(rows[start..<end], names: names))
            start = end
        }
        return (blocks, 0)
    }

    static func block(_ rows: ArraySlice<Row>, names: [Int64: [String]]) throws -> Block {
        guard let first = rows.first, let last = rows.last, rows.count <= MetricsBlock.maximumRows else {
            throw MetricsCodecError.corrupt("a block of \(rows.count) rows")
        }
        guard let columnNames = names[first.shape] else { throw MetricsCodecError.corrupt("series shape \(first.shape) is unknown") }
        let width = columnNames.count
        var columns = [[Double]](repeating: [], count: width)
        for index in columns.indices { columns[index].reserveCapacity(rows.count) }
        for row in rows {
            guard row.values.count == width else { throw MetricsCodecError.corrupt("head row of \(row.values.count) values for \(width) columns") }
            for column in 0..<width { columns[column].append(row.values[column]) }
        }
        let data = MetricsBlock(timestamps: rows.map(\.ms), columnNames: columnNames, columns: columns).encoded()
        return Block(startMs: first.ms, endMs: last.ms, rows: rows.count, columns: width, shape: first.shape, data: data)
    }
}
