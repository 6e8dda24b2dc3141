import Foundation
import VigilPostgres
import VigilStore

/// The metrics history, copied as stored rather than replayed: sealed blocks keep their payloads
/// (the ``MetricsBlock`` format is the same in both stores), the open blocks' rows become head
/// rows, and each host's newest times are set as SQLite's writer left them. A replay of raw
/// samples through `append` would rebuild the rollups only as far back as raw retention reaches
/// (7 days by default) and lose the older minute and hour history (90 days and 2 years); the
/// copy keeps every level whole and decodes no values, so it runs at the speed of the bytes.
extension MigrationCopy {
    func copyMetrics() async throws -> [String: MetricsRowCounts] {
        guard let history = self.source.metrics else {
            self.output.line("copied metrics history: none (no metrics.sqlite)")
            return [:]
        }
        let hosts = try history.hosts()
        var progress = ContinuousClock.now
        var samples: Int64 = 0
        for (index, host) in hosts.enumerated() {
            var newest: [Int64] = [.min, .min, .min]
            for resolution in MetricResolution.allCases {
                newest[resolution.level] = try await self.copyLevel(history, hostID: host.id, hostname: host.hostname, resolution: resolution, samples: &samples)
            }
            if newest.contains(where: { $0 != .min }) {
                try await self.metrics.importHost(hostname: host.hostname, newestMs: newest[0], minuteMs: newest[1], hourMs: newest[2])
            }
            if ContinuousClock.now - progress > .seconds(2) {
                self.output.line("  metrics history: \(index + 1) of \(hosts.count) hosts, \(samples) samples")
                progress = .now
            }
        }
        let latest = try history.latestDocuments()
        for start in stride(from: 0, to: latest.count, by: self.limits.rowsPerBatch) {
            try await self.metrics.saveLatest(Array(latest[start..<min(latest.count, start + self.limits.rowsPerBatch)]))
        }

        // Buckets SQLite still owed a recomputation after a back-fill: recomputed here from the
        // raw rows just copied. One with no row yet gains one.
        let dirty = try history.dirtyBuckets()
        var gains: [String: MetricsRowCounts] = [:]
        let ids = Dictionary(uniqueKeysWithValues: hosts.map { ($0.hostname, $0.id) })
        for bucket in dirty {
            guard let id = ids[bucket.hostname] else { continue }
            if try history.bucketGainsRow(bucket, hostID: id) {
                gains[bucket.hostname, default: .init()].levels[bucket.resolution.level] += 1
            }
        }
        try await self.metrics.recomputeImported(dirty)
        self.output.line("copied metrics history: \(hosts.count) hosts, \(samples) raw samples, \(latest.count) latest documents, \(dirty.count) rollup buckets recomputed")
        return gains
    }

    /// One host's level: sealed blocks a page at a time, then the open block's rows.
    ///
    /// - Returns: The time of the level's newest row, or `Int64.min` when it has none.
    private func copyLevel(_ history: SQLiteMetricsExport, hostID: Int64, hostname: String, resolution: MetricResolution, samples: inout Int64) async throws -> Int64 {
        var newest = Int64.min
        var after: Int64?
        while true {
            let blocks = try history.blocks(hostID: hostID, resolution: resolution, after: after, limit: self.limits.blocksPerBatch)
            guard let last = blocks.last else { break }
            try await self.metrics.importBlocks(hostname: hostname, resolution: resolution, blocks)
            after = last.startMs
            for block in blocks {
                newest = max(newest, block.endMs)
                if resolution == .raw { samples += Int64(block.rows) }
            }
        }
        let rows = try history.openRows(hostID: hostID, resolution: resolution)
        for start in stride(from: 0, to: rows.count, by: self.limits.rowsPerBatch) {
            try await self.metrics.importRows(hostname: hostname, resolution: resolution, Array(rows[start..<min(rows.count, start + self.limits.rowsPerBatch)]))
        }
        for row in rows { newest = max(newest, row.ms) }
        if resolution == .raw { samples += Int64(rows.count) }
        return newest
    }
}
