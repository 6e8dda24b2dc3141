import Foundation
import GRDB
import Testing
@testable import VigilStore

/// What only the SQLite metrics store does (its file, its head log); the behaviour both backends
/// share is in ``MetricsStoreTests``.
@Suite("SQLiteMetricsStore")
struct MetricsSQLiteStoreTests {
    @Test("opens its own metrics.sqlite in WAL mode with synchronous = FULL on the writer")
    func ownFile() async throws {
        try await withMetricsStore { store, directory in
            #expect(SQLiteMetricsStore.fileName == "metrics.sqlite")
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("metrics.sqlite").path))
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("vigil.sqlite").path))
            let journalMode = try await store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(journalMode == "wal")
            let synchronous = try await store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            #expect(synchronous == 2)  // FULL: a commit is fsync'd before it is acknowledged
            let tables = try await store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            }
            #expect(tables == ["block_data", "blocks", "grdb_migrations", "head_hour", "head_minute", "head_raw", "head_sealed", "hosts", "latest", "rollup_dirty"])
        }
    }

    @Test("retention deletes old blocks of each level, keeps newer ones, and writes buckets of silent hosts")
    func retention() async throws {
        let retention = MetricsRetention(raw: .seconds(6 * 3600), minute: .seconds(2 * 86_400), hour: .seconds(10 * 86_400))
        try await withTemporaryDirectory { directory in
            let store = try SQLiteMetricsStore(directory: directory, retention: retention, rawBlockRows: 12, minuteBlockRows: 12, hourBlockRows: 6)
            // Four days, a sample every 5 minutes.
            let input = samples(interval: 300, count: 4 * 288, names: ["v"]) { [Double($0)] }
            try await store.append(input)
            // A host silent for a day: its open blocks and buckets are old, older than raw retention.
            let silent = samples(host: "gone", start: metricsEpoch + 3 * 86_400 + 30, interval: 5, count: 3, names: ["v"]) { [Double($0 + 1)] }
            try await store.append(silent)
            let now = metricsEpoch + 4 * 86_400
            let before = try await store.statistics()
            let beforeCounts = try await store.tableCounts()
            let result = try await store.enforceRetention(now: now)
            let after = try await store.tableCounts()

            let blockEnds = try await store.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT resolution, MIN(end_ms) FROM blocks GROUP BY resolution").map { [$0[0], $0[1]] as [Int64] }
            }
            for row in blockEnds {
                let resolution = try #require(MetricResolution(rawValue: Int(row[0])))
                let oldest = row[1]
                #expect(Double(oldest) / 1000 >= now - Double(retention.duration(for: resolution).components.seconds), "\(resolution)")
            }
            #expect(after.blocks[.raw]! < beforeCounts.blocks[.raw]!)
            #expect(after.blocks[.raw]! >= 5)  // six hours of 12 × 5 min blocks
            #expect(after.blocks[.minute]! < beforeCounts.blocks[.minute]!)
            #expect(after.blocks[.hour]! == beforeCounts.blocks[.hour]!)
            let deletedSealed = (beforeCounts.blocks[.raw]! - after.blocks[.raw]!) + (beforeCounts.blocks[.minute]! - after.blocks[.minute]!)
            // The silent host's raw head (3 rows) goes too: one open block.
            #expect(result.deletedBlocks == deletedSealed + 1)
            #expect(before.raw.blocks > 0)

            // What remains of the raw level is the last six hours, exactly.
            let raw = try await store.points(hostname: "web-1", series: "v", from: 0, to: .infinity, resolution: .raw)
            let expected = expectedRawPoints(input, series: "v").filter { $0.timestamp >= (raw.first?.timestamp ?? 0) }
            #expect(raw == expected)
            #expect(raw.first!.timestamp >= now - 6 * 3600 - 3600)
            #expect(raw.first!.timestamp <= now - 6 * 3600)
            // Hours are all still there.
            #expect(try await store.points(hostname: "web-1", series: "v", from: 0, to: .infinity, resolution: .hour) == expectedRollup(input, series: "v", bucketSeconds: 3600))

            // The silent host's minute and hour buckets were written, and survive a restart even though its raw data is gone.
            #expect(try await store.points(hostname: "gone", series: "v", from: 0, to: .infinity, resolution: .raw).isEmpty)
            try store.close()
            let reopened = try SQLiteMetricsStore(directory: directory, retention: retention, rawBlockRows: 12, minuteBlockRows: 12, hourBlockRows: 6)
            #expect(try await reopened.points(hostname: "gone", series: "v", from: 0, to: .infinity, resolution: .minute) == expectedRollup(silent, series: "v", bucketSeconds: 60))
            #expect(try await reopened.points(hostname: "gone", series: "v", from: 0, to: .infinity, resolution: .hour) == expectedRollup(silent, series: "v", bucketSeconds: 3600))
            #expect(try await reopened.seriesNames(hostname: "gone") == ["v"])
            // A second pass has nothing left to delete.
            #expect(try await reopened.enforceRetention(now: now).deletedBlocks == 0)
        }
    }

    @Test("sealed rows leave the head log: its prefix before the oldest open block is deleted")
    func headLogCompaction() async throws {
        try await withMetricsStore(rawBlockRows: 10) { store, _ in
            let a = samples(host: "a", count: 25) { [Double($0), 0] }
            let b = samples(host: "b", start: metricsEpoch + 1, count: 25) { [Double($0), 1] }
            try await store.append(a + b)
            // Both hosts sealed 2 blocks; only their 5 open rows each remain in the log.
            #expect(try await store.headLogRows()[.raw] == 10)
            #expect(try await store.tableCounts().head[.raw] == 10)
            #expect(try await store.points(hostname: "a", series: "cpu", from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(a, series: "cpu"))
            #expect(try await store.points(hostname: "b", series: "cpu", from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(b, series: "cpu"))
        }
    }

    @Test("a host that stops reporting does not pin the head log: its block is sealed early")
    func pinnedHeadLog() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteMetricsStore(directory: directory, rawBlockRows: 10)
            let quiet = samples(host: "quiet", count: 3) { [Double($0), 0] }
            try await store.append(quiet)
            let busy = samples(host: "busy", start: metricsEpoch + 20, count: 200) { [Double($0), 1] }
            for chunk in stride(from: 0, to: busy.count, by: 7) {
                try await store.append(Array(busy[chunk..<Swift.min(chunk + 7, busy.count)]))
            }
            // Two open blocks may span at most 2 × 10 × 2 rows of log.
            let rows = try #require(try await store.headLogRows()[.raw])
            #expect(rows <= 40)
            let counts = try await store.tableCounts()
            #expect(counts.head[.raw] == 0)  // busy's 200 rows filled exactly 20 blocks; quiet's 3 went to a block early
            #expect(counts.blocks[.raw] == 21)
            #expect(try await store.points(hostname: "quiet", series: "cpu", from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(quiet, series: "cpu"))
            // The quiet host carries on with a new block.
            let more = samples(host: "quiet", start: metricsEpoch + 2000, count: 2) { [Double($0 + 3), 0] }
            #expect(try await store.append(more) == 2)
            try store.close()
            let reopened = try SQLiteMetricsStore(directory: directory, rawBlockRows: 10)
            let quietPoints = try await reopened.points(hostname: "quiet", series: "cpu", from: 0, to: .infinity, resolution: .raw)
            #expect(quietPoints == expectedRawPoints(quiet + more, series: "cpu"))
            #expect(try await reopened.points(hostname: "busy", series: "cpu", from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(busy, series: "cpu"))
        }
    }

    @Test("dead head rows stay dead across a restart even when retention deleted their blocks")
    func deadRowsStayDead() async throws {
        let retention = MetricsRetention(raw: .seconds(50), minute: .seconds(86_400), hour: .seconds(86_400))
        try await withTemporaryDirectory { directory in
            let store = try SQLiteMetricsStore(directory: directory, retention: retention, rawBlockRows: 3)
            func sample(_ host: String, _ t: Double) -> MetricSample {
                MetricSample(hostname: host, timestamp: metricsEpoch + t, names: ["v"], values: [t])
            }
            // b's and c's open blocks start first and pin the log (within its allowance of
            // 2 × 3 rows per open block); a seals two blocks behind them.
            try await store.append([sample("b", 0), sample("c", 0)])
            try await store.append((1...6).map { sample("a", Double($0)) })
            try await store.append([sample("b", 100), sample("c", 100)])
            let counts = try await store.tableCounts()
            #expect(counts.blocks[.raw] == 2)
            #expect(counts.head[.raw] == 4)
            #expect(try await store.headLogRows()[.raw] == 10)
            // Retention removes a's blocks; b's open block is recent enough to stay.
            #expect(try await store.enforceRetention(now: metricsEpoch + 100).deletedBlocks == 2)
            #expect(try await store.points(hostname: "a", series: "v", from: 0, to: .infinity, resolution: .raw).isEmpty)
            try store.close()
            let reopened = try SQLiteMetricsStore(directory: directory, retention: retention, rawBlockRows: 3)
            #expect(try await reopened.points(hostname: "a", series: "v", from: 0, to: .infinity, resolution: .raw).isEmpty)
            #expect(try await reopened.points(hostname: "b", series: "v", from: 0, to: .infinity, resolution: .raw).map(\.avg) == [0, 100])
            // a's next sample starts a fresh block rather than joining dead rows.
            #expect(try await reopened.append([sample("a", 101), sample("a", 102)]) == 2)
            #expect(try await reopened.points(hostname: "a", series: "v", from: 0, to: .infinity, resolution: .raw).map(\.avg) == [101, 102])
        }
    }

    @Test("flush checkpoints without losing anything")
    func flush() async throws {
        try await withTemporaryDirectory { directory in
            let input = samples(count: 7) { [Double($0), 2] }
            do {
                let store = try SQLiteMetricsStore(directory: directory)
                try await store.append(input)
                try await store.flush()
            }
            let store = try SQLiteMetricsStore(directory: directory)
            #expect(try await store.points(hostname: "web-1", series: "cpu", from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(input, series: "cpu"))
        }
    }
}
