import Foundation
import VigilPostgres
import VigilStore

/// The metrics history (``PostgresMetricsStore/importHistory(from:rowsPerBatch:blocksPerBatch:progress:)``
/// says how and why as stored), with progress.
extension MigrationCopy {
    func copyMetrics() async throws -> [String: MetricsRowCounts] {
        guard let history = self.source.metrics else {
            self.output.line("copied metrics history: none (no metrics.sqlite)")
            return [:]
        }
        var shown = ContinuousClock.now
        let result = try await self.metrics.importHistory(from: history, rowsPerBatch: self.limits.rowsPerBatch,
                                                          blocksPerBatch: self.limits.blocksPerBatch) { done, hosts, samples in
            guard ContinuousClock.now - shown > MigrationLimits.progressInterval else { return }
            self.output.line("  metrics history: \(done) of \(hosts) hosts, \(samples) samples")
            shown = .now
        }
        self.output.line("""
            copied metrics history: \(result.hosts) hosts, \(result.samples) raw samples, \(result.latestDocuments) latest documents, \
            \(result.recomputedBuckets) rollup buckets recomputed
            """)
        return result.gains
    }
}
