import Foundation
import VigilPostgres
import VigilStore

/// The copy itself: every store table (``StoreTable/all``, one file per concern in
/// VigilStore/Export), then the metrics history (`MigrationCopy+Metrics.swift`).
struct MigrationCopy {
    let source: MigrationSource
    let store: PostgresStore
    let metrics: PostgresMetricsStore
    let limits: MigrationLimits
    let output: MigrationOutput

    /// Copies everything.
    ///
    /// - Returns: Rollup rows per host and level that PostgreSQL will hold beyond SQLite's (buckets
    ///   SQLite had still to recompute after a back-fill and that had no row yet), for the
    ///   verification.
    func run() async throws -> [String: MetricsRowCounts] {
        for table in StoreTable.all {
            try await self.copy(table)
        }
        return try await self.copyMetrics()
    }

    /// One table, a page at a time in key order; then, for a table of drawn ids, its sequence
    /// past the highest id SQLite ever drew.
    func copy(_ table: StoreTable) async throws {
        let total = try self.source.store.count(table)
        var copied: Int64 = 0
        var after: StoreValue?
        var progress = ContinuousClock.now
        while true {
            let rows = try self.source.store.rows(table, after: after, limit: self.limits.rowsPerBatch)
            guard let last = rows.last else { break }
            try await self.store.importRows(table, rows)
            copied += Int64(rows.count)
            after = last[table.keyIndex]
            if ContinuousClock.now - progress > .seconds(2) {
                self.output.line("  \(table.name): \(copied) of \(total) rows")
                progress = .now
            }
        }
        if table.drawsIDs {
            try await self.store.moveSequence(of: table, past: try self.source.store.highestID(table))
        }
        self.output.line("copied \(table.name): \(copied) rows")
    }
}
