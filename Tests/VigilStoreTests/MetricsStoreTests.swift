import Foundation
import Testing
@testable import VigilStore

/// The metrics store behaviour both backends share, run against SQLite and a real PostgreSQL
/// (started for the suite by ``PostgresServerTrait``). SQLite internals (its file, head log) are
/// tested in ``MetricsSQLiteStoreTests``; PostgreSQL's (partitions, several writers) in
/// ``MetricsPostgresStoreTests``.
@Suite("MetricsStore on SQLite and PostgreSQL", .postgres)
struct MetricsStoreTests {
    @Test("a read with a limit stops decoding blocks once past it", arguments: MetricsBackend.allCases)
    func limitedRead(backend: MetricsBackend) async throws {
        try await withMetricsBackend(backend, rawBlockRows: 10) { store, _ in
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

    @Test("raw points read back exactly, per host and series, within the range", arguments: MetricsBackend.allCases)
    func rawRoundTrip(backend: MetricsBackend) async throws {
        try await withMetricsBackend(backend) { store, _ in
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

    @Test("a block is sealed at the row limit; points across sealed blocks and head are what was appended", arguments: MetricsBackend.allCases)
    func sealAtLimit(backend: MetricsBackend) async throws {
        try await withMetricsBackend(backend, rawBlockRows: 10) { store, context in
            let input = samples(count: 25) { [Double($0), Double($0 * $0) + 0.5] }
            // Several batches, one crossing a block boundary.
            #expect(try await store.append(Array(input[0..<7])) == 7)
            #expect(try await store.append(Array(input[7..<19])) == 12)
            #expect(try await store.append(Array(input[19...])) == 6)
            let counts = try await context.tableCounts(store)
            #expect(counts.blocks[.raw] == 2)
            #expect(counts.head[.raw] == 5)
            for series in ["cpu", "mem"] {
                #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(input, series: series))
            }
            // A range inside the second block and the head.
            let part = try await store.points(hostname: "web-1", series: "cpu", from: metricsEpoch + 60, to: metricsEpoch + 105, resolution: .raw)
            #expect(part == expectedRawPoints(Array(input[12...21]), series: "cpu"))
            #expect(try await context.blocks(.raw, of: store) == [
                [1_704_067_200_000, 1_704_067_245_000, 10, 2], [1_704_067_250_000, 1_704_067_295_000, 10, 2],
            ])
        }
    }

    @Test("a change of series seals the open block; each series has points where it was present", arguments: MetricsBackend.allCases)
    func sealOnColumnChange(backend: MetricsBackend) async throws {
        try await withMetricsBackend(backend) { store, context in
            let first = samples(count: 3, names: ["a", "b"]) { [Double($0), -Double($0)] }
            let second = samples(start: metricsEpoch + 15, count: 2, names: ["a", "b", "c"]) { [Double($0 + 3), -Double($0 + 3), 0.5] }
            let third = samples(start: metricsEpoch + 25, count: 2, names: ["b", "a"]) { [-Double($0 + 5), Double($0 + 5)] }
            #expect(try await store.append(first) == 3)
            #expect(try await store.append(second + third) == 4)
            let counts = try await context.tableCounts(store)
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

    @Test("minute and hour rollups hold exact min, max, avg, last and count; open buckets included", arguments: MetricsBackend.allCases)
    func rollups(backend: MetricsBackend) async throws {
        try await withMetricsBackend(backend, minuteBlockRows: 2) { store, context in
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
            let counts = try await context.tableCounts(store)
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

    @Test("known figures: three minutes of 5 s samples", arguments: MetricsBackend.allCases)
    func knownMinuteFigures(backend: MetricsBackend) async throws {
        try await withMetricsBackend(backend) { store, _ in
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

    @Test("a reopened store reads everything back, rebuilds the open buckets and carries on", arguments: MetricsBackend.allCases)
    func reopen(backend: MetricsBackend) async throws {
        try await withMetricsBackend(backend, rawBlockRows: 16) { first, context in
            let input = samples(start: metricsEpoch + 3540, count: 40) { [Double($0 % 9), 100 + Double($0) * 0.01] }
            try await first.append(Array(input[0..<30]))
            try await first.saveLatest([LatestDocument(hostname: "web-1", timestamp: 1, json: Array("{}".utf8))])
            try context.close(first)
            let store = try context.open()
            let before = Array(input[0..<30])
            for series in ["cpu", "mem"] {
                #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(before, series: series))
                #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .minute) == expectedRollup(before, series: series, bucketSeconds: 60))
                #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .hour) == expectedRollup(before, series: series, bucketSeconds: 3600))
            }
            #expect(try await store.newestSampleTimes() == ["web-1": input[29].timestamp])
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
            #expect(try await context.tableCounts(store).blocks[.raw] == 2)
            #expect(try await context.tableCounts(store).head[.raw] == 8)
        }
    }

    @Test("a sample whose (host, time) is stored is dropped, an older one back-filled; a batch may be out of order", arguments: MetricsBackend.allCases)
    func outOfOrder(backend: MetricsBackend) async throws {
        try await withMetricsBackend(backend) { store, _ in
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

    @Test("a gap back-filled after newer samples, twice: raw history and rollups as if in time, nothing twice", arguments: MetricsBackend.allCases)
    func backfilledGap(backend: MetricsBackend) async throws {
        try await withMetricsBackend(backend, rawBlockRows: 10, minuteBlockRows: 3) { store, context in
            // 00:58:00 to 01:03:55 every 5 s; 00:59:00 to 01:01:55 arrives last (a spool replay).
            let input = samples(start: metricsEpoch + 58 * 60, count: 72) { [Double(($0 * 7) % 11), Double($0)] }
            let gap = Array(input[12..<48])
            #expect(try await store.append(Array(input[0..<12])) == 12)
            #expect(try await store.append(Array(input[48...])) == 24)
            for start in stride(from: 0, to: gap.count, by: 5) {
                #expect(try await store.append(Array(gap[start..<min(start + 5, gap.count)])) == min(5, gap.count - start))
            }
            #expect(try await store.append(gap) == 0, "a second replay stores nothing")
            // A closed bucket's figures may be brought up to date as late as the next retention pass
            // (SQLite recomputes them then at the latest; PostgreSQL right after the write). This
            // one deletes nothing and closes no bucket: its `now` is within an hour of the data.
            #expect(try await store.enforceRetention(now: metricsEpoch + 2 * 3600).deletedBlocks == 0)
            try context.close(store)
            for reader in [try context.open()] {
                for series in ["cpu", "mem"] {
                    #expect(try await reader.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(input, series: series))
                    #expect(try await reader.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .minute) == expectedRollup(input, series: series, bucketSeconds: 60))
                    #expect(try await reader.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .hour) == expectedRollup(input, series: series, bucketSeconds: 3600))
                }
                #expect(try await reader.statistics().raw.values == Int64(input.count * 2))
                #expect(try await reader.newestSampleTimes() == ["web-1": input.last!.timestamp])
            }
        }
    }

    @Test("samples a block cannot hold are dropped without failing the batch", arguments: MetricsBackend.allCases)
    func malformedSamples(backend: MetricsBackend) async throws {
        try await withMetricsBackend(backend, rawBlockRows: 2) { (store, context) async throws in
            var mismatched = MetricSample(hostname: "h", timestamp: metricsEpoch + 1, names: ["a", "b"], values: [1, 2])
            mismatched.values = [1]  // the fields are mutable: the initialiser's check is not enough
            let empty = MetricSample(hostname: "h", timestamp: metricsEpoch + 2, names: [], values: [])
            let names = (0...MetricSample.maximumSeries).map { "s\($0)" }
            let huge = MetricSample(hostname: "h", timestamp: metricsEpoch + 3, names: names, values: names.map { _ in 1 })
            let good = samples(host: "h", start: metricsEpoch + 4, count: 3) { [Double($0), 0] }
            #expect(try await store.append([mismatched, empty, huge] + good) == 3)
            #expect(try await store.points(hostname: "h", series: "cpu", from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(good, series: "cpu"))
            #expect(try await context.tableCounts(store).blocks[.raw] == 1)
            let memory = MemoryMetricsStore()
            #expect(try await memory.append([mismatched, empty, huge] + good) == 3)
        }
    }

    @Test("latest documents are upserted and read back", arguments: MetricsBackend.allCases)
    func latest(backend: MetricsBackend) async throws {
        try await withMetricsBackend(backend) { store, _ in
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

    @Test("statistics count values, blocks and bytes per level", arguments: MetricsBackend.allCases)
    func statistics(backend: MetricsBackend) async throws {
        try await withMetricsBackend(backend, rawBlockRows: 50) { store, _ in
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

    @Test("appends from many tasks at once all land, and reads run beside them", arguments: MetricsBackend.allCases)
    func concurrency(backend: MetricsBackend) async throws {
        try await withMetricsBackend(backend, rawBlockRows: 16) { store, _ in
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
}
