import Foundation
import GRDB
import Testing
@testable import VigilStore

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

    @Test("a read with a limit stops decoding blocks once past it")
    func limitedRead() async throws {
        try await withMetricsStore(rawBlockRows: 10) { store, _ in
            let samples = (0..<100).map { index in
                MetricSample(hostname: "h", timestamp: metricsEpoch + Double(index) * 5, names: ["x"], values: [Double(index)])
            }
            #expect(try await store.append(samples) == 100)
            let all = try await store.points(hostname: "h", series: "x", from: metricsEpoch, to: metricsEpoch + 1000, resolution: .raw)
            #expect(all.count == 100)
            let limited = try await store.points(hostname: "h", series: "x", from: metricsEpoch, to: metricsEpoch + 1000, resolution: .raw, limit: 15)
            #expect(limited.count > 15, "more than the limit tells the caller it was passed")
            #expect(limited.count <= 20, "no block is decoded after the one that passed the limit")
            #expect(limited.map(\.avg) == Array(all.prefix(limited.count)).map(\.avg), "what is returned is the oldest points, in order")
        }
    }

    @Test("raw points read back exactly, per host and series, within the range")
    func rawRoundTrip() async throws {
        try await withMetricsStore { store, _ in
            let web = samples(count: 10) { [Double($0) * 1.25, 1e9 + Double($0)] }
            let db = samples(host: "db-1", start: metricsEpoch + 0.001, count: 4) { [Double($0) / 7, .nan] }
            #expect(try await store.append(web + db) == 14)
            #expect(try await store.points(hostname: "web-1", series: "cpu", from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(web, series: "cpu"))
            #expect(try await store.points(hostname: "web-1", series: "mem", from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(web, series: "mem"))
            #expect(try await store.points(hostname: "db-1", series: "cpu", from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(db, series: "cpu"))
            let nan = try await store.points(hostname: "db-1", series: "mem", from: 0, to: .infinity, resolution: .raw)
            #expect(nan.count == 4 && nan.allSatisfy { $0.avg.isNaN })
            // Inclusive bounds.
            let middle = try await store.points(hostname: "web-1", series: "cpu", from: metricsEpoch + 10, to: metricsEpoch + 20, resolution: .raw)
            #expect(middle.map(\.timestamp) == [metricsEpoch + 10, metricsEpoch + 15, metricsEpoch + 20])
            #expect(try await store.points(hostname: "web-1", series: "nope", from: 0, to: .infinity, resolution: .raw).isEmpty)
            #expect(try await store.points(hostname: "nobody", series: "cpu", from: 0, to: .infinity, resolution: .raw).isEmpty)
            #expect(try await store.points(hostname: "web-1", series: "cpu", from: 20, to: 10, resolution: .raw).isEmpty)
        }
    }

    @Test("a block is sealed at the row limit; points across sealed blocks and head are what was appended")
    func sealAtLimit() async throws {
        try await withMetricsStore(rawBlockRows: 10) { store, _ in
            let input = samples(count: 25) { [Double($0), Double($0 * $0) + 0.5] }
            // Several batches, one crossing a block boundary.
            #expect(try await store.append(Array(input[0..<7])) == 7)
            #expect(try await store.append(Array(input[7..<19])) == 12)
            #expect(try await store.append(Array(input[19...])) == 6)
            let counts = try await store.tableCounts()
            #expect(counts.blocks[.raw] == 2)
            #expect(counts.head[.raw] == 5)
            for series in ["cpu", "mem"] {
                #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(input, series: series))
            }
            // A range inside the second block and the head.
            let part = try await store.points(hostname: "web-1", series: "cpu", from: metricsEpoch + 60, to: metricsEpoch + 105, resolution: .raw)
            #expect(part == expectedRawPoints(Array(input[12...21]), series: "cpu"))
            let blocks = try await store.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT start_ms, end_ms, rows, columns FROM blocks WHERE resolution = 0 ORDER BY start_ms")
                    .map { [$0[0], $0[1], $0[2], $0[3]] as [Int64] }
            }
            #expect(blocks == [
                [1_704_067_200_000, 1_704_067_245_000, 10, 2], [1_704_067_250_000, 1_704_067_295_000, 10, 2],
            ])
        }
    }

    @Test("a change of series seals the open block; each series has points where it was present")
    func sealOnColumnChange() async throws {
        try await withMetricsStore { store, _ in
            let first = samples(count: 3, names: ["a", "b"]) { [Double($0), -Double($0)] }
            let second = samples(start: metricsEpoch + 15, count: 2, names: ["a", "b", "c"]) { [Double($0 + 3), -Double($0 + 3), 0.5] }
            let third = samples(start: metricsEpoch + 25, count: 2, names: ["b", "a"]) { [-Double($0 + 5), Double($0 + 5)] }
            #expect(try await store.append(first) == 3)
            #expect(try await store.append(second + third) == 4)
            let counts = try await store.tableCounts()
            #expect(counts.blocks[.raw] == 2)
            #expect(counts.head[.raw] == 2)
            let all = first + second + third
            for series in ["a", "b", "c"] {
                #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(all, series: series))
            }
            #expect(try await store.points(hostname: "web-1", series: "c", from: 0, to: .infinity, resolution: .raw).count == 2)
            #expect(try await store.seriesNames(hostname: "web-1") == ["a", "b", "c"])
            #expect(try await store.seriesNames(hostname: "nobody") == [])
        }
    }

    @Test("minute and hour rollups hold exact min, max, avg, last and count; open buckets included")
    func rollups() async throws {
        try await withMetricsStore(minuteBlockRows: 2) { store, _ in
            // Every 5 s from 00:58:00 to 01:01:55: four minutes, across an hour boundary.
            let start = metricsEpoch + 58 * 60
            let input = samples(start: start, count: 48) { index in
                [Double((index * 37) % 11) * 1.5 - 3, index % 13 == 0 ? .nan : Double(index) / 4]
            }
            // One sample per call, as agents report, and a batch.
            for sample in input[0..<20] { try await store.append([sample]) }
            try await store.append(Array(input[20...]))
            for series in ["cpu", "mem"] {
                let minutes = try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .minute)
                let expectedMinutes = expectedRollup(input, series: series, bucketSeconds: 60)
                #expect(expectedMinutes.count == 4)
                #expect(minutes == expectedMinutes)
                let hours = try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .hour)
                let expectedHours = expectedRollup(input, series: series, bucketSeconds: 3600)
                #expect(expectedHours.map(\.timestamp) == [metricsEpoch, metricsEpoch + 3600])
                #expect(hours == expectedHours)
            }
            // Closed minutes 00:58, 00:59, 01:00 are stored (one sealed block of 2 and one head row);
            // 01:01 is open. The 00:00 hour is stored, 01:00 is open.
            let counts = try await store.tableCounts()
            #expect(counts.blocks[.minute] == 1)
            #expect(counts.head[.minute] == 1)
            #expect(counts.head[.hour] == 1)
            // The range applies to bucket starts.
            let two = try await store.points(hostname: "web-1", series: "cpu", from: start + 60, to: start + 120, resolution: .minute)
            #expect(two.map(\.timestamp) == [start + 60, start + 120])
            let open = try await store.points(hostname: "web-1", series: "cpu", from: start + 180, to: start + 180, resolution: .minute)
            #expect(open == [expectedRollup(input, series: "cpu", bucketSeconds: 60)[3]])
        }
    }

    @Test("known figures: three minutes of 5 s samples")
    func knownMinuteFigures() async throws {
        try await withMetricsStore { store, _ in
            // Minute 0: 0…11, minute 1: 12…23, minute 2: 24…35.
            let input = samples(count: 36, names: ["n"]) { [Double($0)] }
            try await store.append(input)
            let minutes = try await store.points(hostname: "web-1", series: "n", from: 0, to: .infinity, resolution: .minute)
            #expect(minutes == [
                SeriesPoint(timestamp: metricsEpoch, min: 0, max: 11, avg: 5.5, last: 11, count: 12),
                SeriesPoint(timestamp: metricsEpoch + 60, min: 12, max: 23, avg: 17.5, last: 23, count: 12),
                SeriesPoint(timestamp: metricsEpoch + 120, min: 24, max: 35, avg: 29.5, last: 35, count: 12),
            ])
            let hours = try await store.points(hostname: "web-1", series: "n", from: 0, to: .infinity, resolution: .hour)
            #expect(hours == [SeriesPoint(timestamp: metricsEpoch, min: 0, max: 35, avg: 17.5, last: 35, count: 36)])
        }
    }

    @Test("a reopened store reads everything back, rebuilds the open buckets and carries on")
    func reopen() async throws {
        try await withTemporaryDirectory { directory in
            let input = samples(start: metricsEpoch + 3540, count: 40) { [Double($0 % 9), 100 + Double($0) * 0.01] }
            do {
                let store = try SQLiteMetricsStore(directory: directory, rawBlockRows: 16)
                try await store.append(Array(input[0..<30]))
                try await store.saveLatest([LatestDocument(hostname: "web-1", timestamp: 1, json: Array("{}".utf8))])
                try store.close()
            }
            let store = try SQLiteMetricsStore(directory: directory, rawBlockRows: 16)
            let before = Array(input[0..<30])
            for series in ["cpu", "mem"] {
                #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(before, series: series))
                #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .minute) == expectedRollup(before, series: series, bucketSeconds: 60))
                #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .hour) == expectedRollup(before, series: series, bucketSeconds: 3600))
            }
            // Old and duplicate samples are still refused after the restart.
            #expect(try await store.append(Array(input[25..<30])) == 0)
            #expect(try await store.append(Array(input[30...])) == 10)
            for series in ["cpu", "mem"] {
                #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(input, series: series))
                #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .minute) == expectedRollup(input, series: series, bucketSeconds: 60))
                #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .hour) == expectedRollup(input, series: series, bucketSeconds: 3600))
            }
            #expect(try await store.latestDocuments().map(\.hostname) == ["web-1"])
            // The open blocks were rebuilt with their row counts: the raw level seals at 16 rows again.
            #expect(try await store.tableCounts().blocks[.raw] == 2)
            #expect(try await store.tableCounts().head[.raw] == 8)
        }
    }

    @Test("a sample whose (host, time) is stored is dropped, an older one back-filled; a batch may be out of order")
    func outOfOrder() async throws {
        try await withMetricsStore { store, _ in
            func sample(_ t: Double, _ v: Double, host: String = "web-1") -> MetricSample {
                MetricSample(hostname: host, timestamp: metricsEpoch + t, names: ["v"], values: [v])
            }
            #expect(try await store.append([sample(10, 1), sample(20, 2)]) == 2)
            // 20 is stored already (the stored value stays); 15 is back-fill.
            #expect(try await store.append([sample(20, 99), sample(15, 1.5), sample(25, 3)]) == 2)
            // Out of order within a batch: both kept; a duplicate within a batch: the first is kept.
            #expect(try await store.append([sample(40, 5), sample(30, 4), sample(40, 99), sample(5, 99, host: "db-1")]) == 3)
            // Timestamps that are not numbers are dropped, not stored.
            #expect(try await store.append([sample(.nan, 99), sample(.infinity, 99)]) == 0)
            let points = try await store.points(hostname: "web-1", series: "v", from: 0, to: .infinity, resolution: .raw)
            #expect(points.map(\.timestamp) == [10, 15, 20, 25, 30, 40].map { metricsEpoch + $0 })
            #expect(points.map(\.avg) == [1, 1.5, 2, 3, 4, 5])
            #expect(try await store.points(hostname: "db-1", series: "v", from: 0, to: .infinity, resolution: .raw).count == 1)
            #expect(try await store.append([]) == 0)
        }
    }

    @Test("samples a block cannot hold are dropped without failing the batch")
    func malformedSamples() async throws {
        try await withMetricsStore(rawBlockRows: 2) { (store, _) async throws in
            var mismatched = MetricSample(hostname: "h", timestamp: metricsEpoch + 1, names: ["a", "b"], values: [1, 2])
            mismatched.values = [1]  // the fields are mutable: the initialiser's check is not enough
            let empty = MetricSample(hostname: "h", timestamp: metricsEpoch + 2, names: [], values: [])
            let names = (0...MetricSample.maximumSeries).map { "s\($0)" }
            let huge = MetricSample(hostname: "h", timestamp: metricsEpoch + 3, names: names, values: names.map { _ in 1 })
            let good = samples(host: "h", start: metricsEpoch + 4, count: 3) { [Double($0), 0] }
            #expect(try await store.append([mismatched, empty, huge] + good) == 3)
            #expect(try await store.points(hostname: "h", series: "cpu", from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(good, series: "cpu"))
            #expect(try await store.tableCounts().blocks[.raw] == 1)
            let memory = MemoryMetricsStore()
            #expect(try await memory.append([mismatched, empty, huge] + good) == 3)
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

    @Test("latest documents are upserted and read back")
    func latest() async throws {
        try await withMetricsStore { store, _ in
            #expect(try await store.latestDocuments().isEmpty)
            let a = LatestDocument(hostname: "a", timestamp: 10.5, json: Array(#"{"x":1}"#.utf8))
            let b = LatestDocument(hostname: "b", timestamp: 11, json: [0, 1, 2, 255])
            try await store.saveLatest([b, a])
            #expect(try await store.latestDocuments() == [a, b])
            let newerA = LatestDocument(hostname: "a", timestamp: 20, json: Array(#"{"x":2}"#.utf8))
            try await store.saveLatest([newerA])
            #expect(try await store.latestDocuments() == [newerA, b])
            // A host known only from its latest document can then get samples.
            #expect(try await store.append(samples(host: "a", count: 2) { [Double($0), 0] }) == 2)
        }
    }

    @Test("statistics count values, blocks and bytes per level")
    func statistics() async throws {
        try await withMetricsStore(rawBlockRows: 50) { store, _ in
            let names = (0..<20).map { "series.\($0)" }
            let input = samples(count: 130, names: names) { index in names.indices.map { Double(index * $0) } }
            try await store.append(input)
            let statistics = try await store.statistics()
            #expect(statistics.raw.values == 130 * 20)
            #expect(statistics.raw.blocks == 2)
            #expect(statistics.raw.bytes > 0)
            // 130 samples every 5 s: minutes 0 to 9 closed (10 buckets), minute 10 open.
            #expect(statistics.minute.values == 10 * 20 * 5)
            #expect(statistics.minute.blocks == 0)
            #expect(statistics.hour.values == 0)
            #expect(statistics.fileBytes > 0)
            // Sealed blocks are far smaller than the 8 bytes a value of the head rows.
            let headBytes = Int64(30 * 20 * 8)
            #expect(statistics.raw.bytes - headBytes - 300 < 100 * 20 * 2)
        }
    }

    @Test("appends from many tasks at once all land, and reads run beside them")
    func concurrency() async throws {
        try await withMetricsStore(rawBlockRows: 16) { store, _ in
            let hosts = (0..<8).map { "host-\($0)" }
            let perHost = 60
            let stored = try await withThrowingTaskGroup(of: Int.self) { group in
                for host in hosts {
                    group.addTask {
                        var stored = 0
                        for batch in 0..<(perHost / 5) {
                            let chunk = samples(host: host, start: metricsEpoch + Double(batch * 25), count: 5) { [Double(batch * 5 + $0), 1] }
                            stored += try await store.append(chunk)
                        }
                        return stored
                    }
                }
                // A shared host written by several tasks with disjoint timestamps.
                for task in 0..<4 {
                    group.addTask {
                        try await store.append([MetricSample(hostname: "shared", timestamp: metricsEpoch + Double(task), names: ["cpu", "mem"], values: [Double(task), 0])])
                    }
                }
                group.addTask {
                    for _ in 0..<20 {
                        _ = try await store.points(hostname: "host-0", series: "cpu", from: 0, to: .infinity, resolution: .minute)
                        _ = try await store.statistics()
                    }
                    return 0
                }
                return try await group.reduce(0, +)
            }
            let shared = try await store.points(hostname: "shared", series: "cpu", from: 0, to: .infinity, resolution: .raw)
            // Tasks race for the shared host: only samples newer than what landed first are kept.
            #expect(stored == hosts.count * perHost + shared.count)
            #expect(shared.count >= 1)
            for host in hosts {
                let points = try await store.points(hostname: host, series: "cpu", from: 0, to: .infinity, resolution: .raw)
                #expect(points.map(\.avg) == (0..<perHost).map(Double.init))
                let minutes = try await store.points(hostname: host, series: "cpu", from: 0, to: .infinity, resolution: .minute)
                #expect(minutes.map(\.count) == [12, 12, 12, 12, 12])
            }
            #expect(try await store.statistics().raw.values == Int64(stored * 2))
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
