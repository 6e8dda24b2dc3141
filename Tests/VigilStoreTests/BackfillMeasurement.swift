import Foundation
import Testing
@testable import VigilStore

/// The back-fill cost of `SQLiteMetricsStore` next to in-order appends (docs/PERFORMANCE.md, "Agent
/// spool and back-fill"). A measurement, so opt-in: `VIGIL_MEASURE_BACKFILL=1 swift test --skip-build
/// --filter BackfillMeasurement`.
@Suite("Back-fill measurement")
struct BackfillMeasurement {
    @Test("100 hosts of 100 series, a 10-minute gap replayed one sample per host per batch, then again",
          .enabled(if: ProcessInfo.processInfo.environment["VIGIL_MEASURE_BACKFILL"] != nil))
    func measure() async throws {
        try await withMetricsStore { store, _ in
            let hosts = 100
            let names = (0..<100).map { "series.\($0)" }
            func sample(_ host: Int, _ index: Int) -> MetricSample {
                MetricSample(hostname: "h\(host)", timestamp: metricsEpoch + Double(index) * 5, names: names, values: names.indices.map { Double(($0 * 7 + index) % 100) })
            }
            // 2 h at 5 s = 1440 samples; the gap 600..<720 (10 minutes).
            let clock = ContinuousClock()
            var inOrder = Duration.zero
            var count = 0
            for index in 0..<1440 where !(600..<720).contains(index) {
                let batch = (0..<hosts).map { sample($0, index) }
                let start = clock.now
                count += try await store.append(batch)
                inOrder += clock.now - start
            }
            var backfill = Duration.zero
            var filled = 0
            for index in 600..<720 {
                let batch = (0..<hosts).map { sample($0, index) }
                let start = clock.now
                filled += try await store.append(batch)
                backfill += clock.now - start
            }
            let settleStart = clock.now
            try await store.settleBackfill()
            backfill += clock.now - settleStart
            var replay = Duration.zero
            for index in 600..<720 {
                let batch = (0..<hosts).map { sample($0, index) }
                let start = clock.now
                #expect(try await store.append(batch) == 0)
                replay += clock.now - start
            }
            #expect(count == hosts * 1320)
            #expect(filled == hosts * 120, "every gap sample stored once")
            #expect(store.dirtyBucketCount == 0)
            print("MEASURE in-order: \(count) samples in \(inOrder) = \(Double(count) / inOrder.seconds)/s; backfill: \(filled) in \(backfill) = \(Double(filled) / backfill.seconds)/s; duplicate replay: \(hosts * 120) in \(replay) = \(Double(hosts * 120) / replay.seconds)/s")
        }
    }
}
private extension Duration {
    var seconds: Double { Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18 }
}
