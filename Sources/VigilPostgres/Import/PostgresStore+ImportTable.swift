import VigilStore

extension PostgresStore {
    /// Copies one table of a SQLite store, a page at a time in key order; then, for a table of
    /// drawn ids, moves its sequence past the highest id SQLite ever drew.
    ///
    /// - Parameter progress: Called after each page with the rows copied so far and the total.
    /// - Returns: The rows copied.
    @discardableResult
    package func importTable(_ table: StoreTable, from source: SQLiteStoreExport, rowsPerBatch: Int,
                             progress: (_ copied: Int64, _ total: Int64) -> Void = { _, _ in }) async throws -> Int64 {
        let total = try source.count(table)
        var copied: Int64 = 0
        var after: StoreValue?
        while true {
            let rows = try source.rows(table, after: after, limit: rowsPerBatch)
            guard let last = rows.last else { break }
            try await self.importRows(table, rows)
            copied += Int64(rows.count)
            after = last[table.keyIndex]
            progress(copied, total)
        }
        if table.drawsIDs {
            try await self.moveSequence(of: table, past: try source.highestID(table))
        }
        return copied
    }
}
