import GRDB

extension SQLiteMetricsStore {
    /// Recomputes now every closed rollup bucket that back-filled samples reached (otherwise done
    /// once the replay moves past a bucket, within ``backfillSettle`` by the next write, and by
    /// ``enforceRetention(now:)``).
    func settleBackfill() async throws {
        try await self.pool.writeWithoutTransaction { db in
            var state = self.state.withLock { $0 }
            guard !state.dirty.isEmpty else { return }
            try db.inTransaction {
                var writer = try SQLiteMetricsWriter(db, blockRows: self.blockRows, logs: state.logs, dirty: state.dirty, columnNames: self.columnNames)
                try writer.settle(before: nil, hosts: &state.hosts, others: [:])
                try writer.compactHeads(&state.hosts, others: [:])
                state.logs = writer.logs
                state.dirty = writer.dirty
                return .commit
            }
            self.state.withLock { $0 = state }
        }
    }

    /// Closed rollup buckets awaiting recomputation after back-fill.
    var dirtyBucketCount: Int { self.state.withLock { $0.dirty.count } }
}
