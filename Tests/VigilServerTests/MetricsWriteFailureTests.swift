import Foundation
import Logging
import Synchronization
import Testing
import VigilMetrics
import VigilStore
@testable import VigilServer

/// A failed metrics write acknowledges nothing and leaves nobody waiting: the batch's senders and
/// everyone queued behind it hear of the failure at once, and their hosts may send the same
/// samples again.
@Suite("Metrics write failures")
struct MetricsWriteFailureTests {
    /// A memory store whose writes fail while `failing` is set.
    final class FailingStore: MetricsStore {
        struct WriteFailed: Error {}
        let base = MemoryMetricsStore()
        let failing = Atomic(true)

        func append(_ samples: [MetricSample]) async throws -> Int {
            if self.failing.load(ordering: .relaxed) { throw WriteFailed() }
            return try await self.base.append(samples)
        }
        func points(hostname: String, series: String, from: Double, to: Double, resolution: MetricResolution, limit: Int) async throws -> [SeriesPoint] {
            try await self.base.points(hostname: hostname, series: series, from: from, to: to, resolution: resolution, limit: limit)
        }
        func seriesNames(hostname: String) async throws -> [String] { try await self.base.seriesNames(hostname: hostname) }
        func newestSampleTimes() async throws -> [String: Double] { try await self.base.newestSampleTimes() }
        func saveLatest(_ documents: [LatestDocument]) async throws { try await self.base.saveLatest(documents) }
        func latestDocuments() async throws -> [LatestDocument] { try await self.base.latestDocuments() }
        func enforceRetention(now: Double) async throws -> RetentionResult { try await self.base.enforceRetention(now: now) }
        func statistics() async throws -> MetricsStorageStatistics { try await self.base.statistics() }
        func flush() async throws {}
    }

    static func document(_ timestamp: Date) -> MetricsDocument {
        var document = MetricsDocument(timestamp: timestamp)
        document.cpu = .init(cpuPercentTotal: 5, cpuCountLogical: 1)
        return document
    }

    @Test("a failed write answers its batch and every sample queued behind it; the host may send the earliest of them again")
    func failedWriteAnswersEveryone() async throws {
        var settings = ServerSettings()
        settings.metricsMaxBatch = 1  // two samples: two batches, the second queued behind the first
        let ingestor = MetricsIngestor(settings: settings, logger: Logger(label: "test"))
        let store = FailingStore()
        let service = MetricsService(ingestor: ingestor, store: store, settings: settings, logger: Logger(label: "test"))
        let answers = Mutex<[Bool]>([])
        let first = Date().addingTimeInterval(-10)
        for offset in [0.0, 1.0] {
            try ingestor.ingest(Self.document(first.addingTimeInterval(offset)), hostname: "h") { result in
                answers.withLock { $0.append((try? result.get()) != nil) }
            }
        }
        #expect(await service.writeBatch() == false)
        #expect(answers.withLock { $0 } == [false, false], "both senders hear of the failure, none is left waiting")
        #expect(ingestor.pendingCount == 0)

        // Space back: the earliest lost sample is taken again (not refused as stale) and stored.
        store.failing.store(false, ordering: .relaxed)
        try ingestor.ingest(Self.document(first), hostname: "h")
        #expect(await service.writeBatch())
        let t = first.timeIntervalSince1970
        #expect(try await store.points(hostname: "h", series: "cpu.cpu_percent_total", from: t - 1, to: t + 1, resolution: .raw).count == 1)
    }
}
