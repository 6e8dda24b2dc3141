import Foundation
import GRDB

extension SQLiteMetricsStore {
    /// Deletes, per resolution, sealed blocks whose last row is older than `now` − retention, and
    /// open blocks (head rows) whose newest row is. Before that it writes rollup buckets left open
    /// by hosts that stopped reporting (see ``staleBucketGraceMs``).
    ///
    /// Deletion is by host and resolution on the primary key (`start_ms < cutoff` bounds the range,
    /// since a block ends after it starts), never a scan of the whole table.
    /// - Returns: The sealed and open blocks deleted.
    @discardableResult
    public func enforceRetention(now: Double) async throws -> RetentionResult {
        guard let nowMs = MetricTime.milliseconds(now) else { return RetentionResult(deletedBlocks: 0) }
        return try await self.pool.writeWithoutTransaction { db in
            var state = self.state.withLock { $0 }
            var deleted = 0
            try db.inTransaction {
                var writer = try SQLiteMetricsWriter(db, blockRows: self.blockRows, logs: state.logs, dirty: state.dirty, columnNames: self.columnNames)
                // Rollups still awaiting back-filled samples are recomputed first, all of them.
                try writer.settle(before: nil, hosts: &state.hosts, others: [:])
                let deleteData = try db.cachedStatement(sql: """
                    DELETE FROM block_data WHERE id IN (
                      SELECT data_id FROM blocks WHERE host_id = :host AND resolution = :resolution AND start_ms < :cutoff AND end_ms < :cutoff)
                    """)
                let deleteBlocks = try db.cachedStatement(sql: """
                    DELETE FROM blocks WHERE host_id = :host AND resolution = :resolution AND start_ms < :cutoff AND end_ms < :cutoff
                    """)
                for hostID in Array(state.hosts.keys) {
                    var host = state.hosts.removeValue(forKey: hostID)!
                    defer { state.hosts[hostID] = host }
                    for resolution in MetricResolution.rollups {
                        if let bucket = host.bucket(resolution),
                           bucket.start + MetricTime.bucketMilliseconds(resolution) + Self.staleBucketGraceMs <= nowMs {
                            try writer.close(bucket, resolution, hostID: hostID, host: &host)
                        }
                    }
                    for resolution in MetricResolution.allCases {
                        let cutoff = nowMs - MetricTime.milliseconds(self.retention.duration(for: resolution))
                        let arguments: StatementArguments = ["host": hostID, "resolution": resolution.rawValue, "cutoff": cutoff]
                        try deleteData.execute(arguments: arguments)
                        try deleteBlocks.execute(arguments: arguments)
                        deleted += db.changesCount
                        let level = host.levels[resolution.level]
                        if level.open != nil && level.lastRowMs < cutoff {
                            try writer.discardOpenBlock(resolution, hostID: hostID, host: &host)
                            deleted += 1
                        }
                    }
                }
                try writer.compactHeads(&state.hosts, others: [:])
                state.logs = writer.logs
                state.dirty = writer.dirty
                return .commit
            }
            self.state.withLock { $0 = state }
            return RetentionResult(deletedBlocks: deleted)
        }
    }
}
