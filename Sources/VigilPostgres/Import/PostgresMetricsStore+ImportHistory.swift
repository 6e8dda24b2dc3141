import VigilStore

/// A SQLite metrics history copied as stored rather than replayed: sealed blocks keep their
/// payloads (the ``MetricsBlock`` format is the same in both stores), the open blocks' rows become
/// head rows, and each host's newest times are set as SQLite's writer left them. A replay of raw
/// samples through `append` would rebuild the rollups only as far back as raw retention reaches
/// (7 days by default) and lose the older minute and hour history (90 days and 2 years); the copy
/// keeps every level whole and decodes no values, so it runs at the speed of the bytes.
extension PostgresMetricsStore {
    /// What a history copy did.
    package struct HistoryImport: Sendable {
        package var hosts = 0
        package var samples: Int64 = 0
        package var latestDocuments = 0
        package var recomputedBuckets = 0
        /// Rollup rows per host and level that PostgreSQL holds beyond SQLite's: buckets SQLite had
        /// still to recompute after a back-fill and that had no row yet (for the verification).
        package var gains: [String: MetricsRowCounts] = [:]
    }

    /// Copies a whole history into this (empty) store.
    ///
    /// - Parameter progress: Called after each host with the hosts done and the samples copied.
    package func importHistory(from history: SQLiteMetricsExport, rowsPerBatch: Int, blocksPerBatch: Int,
                               progress: (_ hosts: Int, _ of: Int, _ samples: Int64) -> Void = { _, _, _ in }) async throws -> HistoryImport {
        var result = HistoryImport()
        let hosts = try history.hosts()
        for (index, host) in hosts.enumerated() {
            var newest: [Int64] = [.min, .min, .min]
            for resolution in MetricResolution.allCases {
                newest[resolution.level] = try await self.importLevel(history, hostID: host.id, hostname: host.hostname, resolution: resolution,
                                                                      rowsPerBatch: rowsPerBatch, blocksPerBatch: blocksPerBatch, samples: &result.samples)
            }
            if newest.contains(where: { $0 != .min }) {
                try await self.importHost(hostname: host.hostname, newestMs: newest[0], minuteMs: newest[1], hourMs: newest[2])
            }
            progress(index + 1, hosts.count, result.samples)
        }
        result.hosts = hosts.count
        let latest = try history.latestDocuments()
        for start in stride(from: 0, to: latest.count, by: rowsPerBatch) {
            try await self.saveLatest(Array(latest[start..<min(latest.count, start + rowsPerBatch)]))
        }
        result.latestDocuments = latest.count

        // Buckets SQLite still owed a recomputation after a back-fill: recomputed here from the
        // raw rows just copied. One with no row yet gains one.
        let dirty = try history.dirtyBuckets()
        let ids = Dictionary(uniqueKeysWithValues: hosts.map { ($0.hostname, $0.id) })
        for bucket in dirty {
            guard let id = ids[bucket.hostname] else { continue }
            if try history.bucketGainsRow(bucket, hostID: id) {
                result.gains[bucket.hostname, default: .init()].levels[bucket.resolution.level] += 1
            }
        }
        try await self.recomputeImported(dirty)
        result.recomputedBuckets = dirty.count
        return result
    }

    /// One host's level: sealed blocks a page at a time, then the open block's rows.
    ///
    /// - Returns: The time of the level's newest row, or `Int64.min` when it has none.
    private func importLevel(_ history: SQLiteMetricsExport, hostID: Int64, hostname: String, resolution: MetricResolution,
                             rowsPerBatch: Int, blocksPerBatch: Int, samples: inout Int64) async throws -> Int64 {
        var newest = Int64.min
        var after: Int64?
        while true {
            let blocks = try history.blocks(hostID: hostID, resolution: resolution, after: after, limit: blocksPerBatch)
            guard let last = blocks.last else { break }
            try await self.importBlocks(hostname: hostname, resolution: resolution, blocks)
            after = last.startMs
            for block in blocks {
                newest = max(newest, block.endMs)
                if resolution == .raw { samples += Int64(block.rows) }
            }
        }
        let rows = try history.openRows(hostID: hostID, resolution: resolution)
        for start in stride(from: 0, to: rows.count, by: rowsPerBatch) {
            try await self.importRows(hostname: hostname, resolution: resolution, Array(rows[start..<min(rows.count, start + rowsPerBatch)]))
        }
        for row in rows { newest = max(newest, row.ms) }
        if resolution == .raw { samples += Int64(rows.count) }
        return newest
    }
}
