import Foundation
import VigilPostgres
import VigilStore

/// The copy itself: every store table (``StoreTable/all``, one file per concern in
/// VigilStore/Export), then the metrics history (`MigrationCopy+Metrics.swift`), with progress.
struct MigrationCopy {
    let source: MigrationSource
    let store: PostgresStore
    let metrics: PostgresMetricsStore
    let limits: MigrationLimits
    let output: MigrationOutput

    /// Copies everything.
    ///
    /// - Returns: Rollup rows per host and level that PostgreSQL will hold beyond SQLite's by
    ///   design (``PostgresMetricsStore/HistoryImport/gains``), for the verification.
    func run() async throws -> [String: MetricsRowCounts] {
        for table in StoreTable.all {
            var shown = ContinuousClock.now
            let copied = try await self.store.importTable(table, from: self.source.store, rowsPerBatch: self.limits.rowsPerBatch) { copied, total in
                guard ContinuousClock.now - shown > MigrationLimits.progressInterval else { return }
                self.output.line("  \(table.name): \(copied) of \(total) rows")
                shown = .now
            }
            self.output.line("copied \(table.name): \(copied) rows")
        }
        return try await self.copyMetrics()
    }
}
