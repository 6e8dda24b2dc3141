import Foundation
import PostgresNIO
import Testing
@testable import VigilPostgres
@testable import VigilStore

/// What only the PostgreSQL metrics store does: partitions dropped by retention, several store
/// instances (servers) on one database, idempotent appends.
@Suite("PostgresMetricsStore", .postgres)
struct MetricsPostgresStoreTests {
    /// The partitions of a table, from the catalog: (name, upper bound in ms) for each child of it.
    func partitions(_ table: String, _ context: MetricsTestContext) async throws -> [(name: String, upper: Int64)] {
        let rows = try await context.postgres!.client.query("""
            SELECT c.relname::text, p.upper_ms FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN metrics_partitions p ON p.name = c.relname::text
            WHERE i.inhparent = \(table)::regclass ORDER BY p.upper_ms
            """)
        var partitions: [(String, Int64)] = []
        for try await (name, upper) in rows.decode((String, Int64).self) { partitions.append((name, upper)) }
        return partitions
    }

    func childCount(_ table: String, _ context: MetricsTestContext) async throws -> Int {
        try await context.count("SELECT count(*) FROM pg_inherits WHERE inhparent = '\(table)'::regclass")
    }

    @Test("retention drops whole partitions older than each level's retention, and writes buckets of silent hosts")
    func retentionDropsPartitions() async throws {
        let retention = MetricsRetention(raw: .seconds(6 * 3600), minute: .seconds(2 * 86_400), hour: .seconds(10 * 86_400))
        try await withMetricsBackend(.postgres, retention: retention, rawBlockRows: 12, minuteBlockRows: 12, hourBlockRows: 6,
                                     rawPartitionSpan: .seconds(3600), rollupPartitionSpan: .seconds(86_400), maximumNewPartitionsPerAppend: 200) { store, context in
            // Four days, a sample every 5 minutes: 96 hourly raw partitions, 4 daily rollup ones.
            let input = samples(interval: 300, count: 4 * 288, names: ["v"]) { [Double($0)] }
            try await store.append(input)
            let silent = samples(host: "gone", start: metricsEpoch + 3 * 86_400 + 30, interval: 5, count: 3, names: ["v"]) { [Double($0 + 1)] }
            try await store.append(silent)
            let now = metricsEpoch + 4 * 86_400
            let rawBefore = try await self.partitions("metrics_raw_blocks", context)
            let minuteBefore = try await self.partitions("metrics_minute_blocks", context)
            #expect(rawBefore.count >= 96)
            let blocksBefore = try await context.tableCounts(store).blocks

            let result = try await store.enforceRetention(now: now)

            let nowMs = Int64(now * 1000)
            let rawAfter = try await self.partitions("metrics_raw_blocks", context)
            let rawHeadAfter = try await self.partitions("metrics_raw_head", context)
            let minuteAfter = try await self.partitions("metrics_minute_blocks", context)
            let hourAfter = try await self.partitions("metrics_hour_blocks", context)
            // Every partition wholly older than its cutoff is gone from the catalog; none newer is.
            #expect(rawAfter.allSatisfy { $0.upper > nowMs - 6 * 3_600_000 })
            #expect(rawHeadAfter.allSatisfy { $0.upper > nowMs - 6 * 3_600_000 })
            #expect(rawBefore.filter { $0.upper > nowMs - 6 * 3_600_000 }.map(\.name) == rawAfter.filter { $0.upper <= nowMs + 3_600_000 }.map(\.name))
            #expect(minuteAfter.allSatisfy { $0.upper > nowMs - 2 * 86_400_000 })
            #expect(minuteAfter.count < minuteBefore.count)
            #expect(hourAfter.count >= 4)
            // The catalog and the store's registry agree.
            #expect(try await self.childCount("metrics_raw_blocks", context) == rawAfter.count)
            #expect(try await context.count("SELECT count(*) FROM metrics_partitions WHERE parent = 'metrics_raw_blocks'") == rawAfter.count)

            let blocksAfter = try await context.tableCounts(store).blocks
            #expect(blocksAfter[.raw]! < blocksBefore[.raw]!)
            #expect(blocksAfter[.hour]! == blocksBefore[.hour]!)
            let deletedSealed = (blocksBefore[.raw]! - blocksAfter[.raw]!) + (blocksBefore[.minute]! - blocksAfter[.minute]!)
            // "gone"'s three raw head rows were in a dropped partition: one more.
            #expect(result.deletedBlocks == deletedSealed + 1)

            // What remains of the raw level: whole blocks ending within the last six hours.
            let raw = try await store.points(hostname: "web-1", series: "v", from: 0, to: .infinity, resolution: .raw)
            #expect(raw == expectedRawPoints(input, series: "v").filter { $0.timestamp >= (raw.first?.timestamp ?? 0) })
            #expect(raw.first!.timestamp >= now - 6 * 3600 - 3600)
            #expect(raw.first!.timestamp <= now - 6 * 3600)
            #expect(try await store.points(hostname: "web-1", series: "v", from: 0, to: .infinity, resolution: .hour) == expectedRollup(input, series: "v", bucketSeconds: 3600))

            // The silent host's buckets were written, and another server reads them.
            let other = try context.open()
            #expect(try await other.points(hostname: "gone", series: "v", from: 0, to: .infinity, resolution: .raw).isEmpty)
            #expect(try await other.points(hostname: "gone", series: "v", from: 0, to: .infinity, resolution: .minute) == expectedRollup(silent, series: "v", bucketSeconds: 60))
            #expect(try await other.points(hostname: "gone", series: "v", from: 0, to: .infinity, resolution: .hour) == expectedRollup(silent, series: "v", bucketSeconds: 3600))
            #expect(try await other.seriesNames(hostname: "gone") == ["v"])
            // A second pass has nothing left to drop; appends into the kept range still work.
            #expect(try await other.enforceRetention(now: now).deletedBlocks == 0)
            #expect(try await store.append(samples(start: metricsEpoch + 4 * 86_400, count: 2, names: ["v"]) { [Double($0)] }) == 2)
        }
    }

    @Test("two store instances (servers) on one database write different hosts at the same time")
    func twoWritersDifferentHosts() async throws {
        try await withMetricsBackend(.postgres, rawBlockRows: 10, minuteBlockRows: 3) { first, context in
            let second = try context.open()
            let perHost = 150
            func series(_ host: String) -> [MetricSample] {
                samples(host: host, count: perHost) { [Double($0), Double(host.hashValue % 100)] }
            }
            let hostsA = (0..<4).map { "a-\($0)" }
            let hostsB = (0..<4).map { "b-\($0)" }
            let stored = try await withThrowingTaskGroup(of: Int.self) { group in
                for (store, hosts) in [(first, hostsA), (second, hostsB)] {
                    group.addTask {
                        var stored = 0
                        let all = hosts.map(series)
                        // Batches of 7 samples of every host of this writer, as a server flushes.
                        for start in stride(from: 0, to: perHost, by: 7) {
                            let batch = all.flatMap { $0[start..<min(start + 7, perHost)] }
                            stored += try await store.append(batch)
                        }
                        return stored
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(stored == 8 * perHost)
            let reader = try context.open()
            for host in hostsA + hostsB {
                let input = series(host)
                #expect(try await reader.points(hostname: host, series: "cpu", from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(input, series: "cpu"))
                #expect(try await reader.points(hostname: host, series: "cpu", from: 0, to: .infinity, resolution: .minute) == expectedRollup(input, series: "cpu", bucketSeconds: 60))
            }
            #expect(try await reader.statistics().raw.values == Int64(8 * perHost * 2))
            #expect(try await reader.newestSampleTimes().count == 8)
        }
    }

    @Test("an append repeated, from the same or another instance, stores nothing twice")
    func duplicateAppend() async throws {
        try await withMetricsBackend(.postgres, rawBlockRows: 10) { store, context in
            let input = samples(count: 25) { [Double($0), 1] }
            #expect(try await store.append(input) == 25)
            #expect(try await store.append(input) == 0)
            #expect(try await store.append(input + input) == 0)
            let other = try context.open()
            #expect(try await other.append(Array(input[20...])) == 0)
            // Duplicates inside one batch: the first is kept.
            let next = samples(start: metricsEpoch + 125, count: 3) { [Double(100 + $0), 1] }
            #expect(try await other.append(next + next) == 3)
            let all = input + next
            #expect(try await store.points(hostname: "web-1", series: "cpu", from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(all, series: "cpu"))
            #expect(try await store.statistics().raw.values == Int64(all.count * 2))
            let counts = try await context.tableCounts(store)
            #expect(counts.blocks[.raw]! * 10 + counts.head[.raw]! == all.count)
        }
    }

    @Test("a host moving between servers (stale caches) keeps exact raw points and rollups")
    func hostMovesBetweenServers() async throws {
        try await withMetricsBackend(.postgres, rawBlockRows: 10, minuteBlockRows: 4) { a, context in
            let b = try context.open()
            let input = samples(start: metricsEpoch + 3500, count: 90) { [Double(($0 * 7) % 13), Double($0)] }
            #expect(try await a.append(Array(input[0..<30])) == 30)
            #expect(try await b.append(Array(input[25..<60])) == 30)  // b takes over; 25…29 are already stored
            #expect(try await a.append(Array(input[50..<90])) == 30)  // back to a, whose cache is stale
            // The open buckets as each server sees them: a holds them, b computes them from raw rows.
            for store in [a, b] {
                for series in ["cpu", "mem"] {
                    #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .raw) == expectedRawPoints(input, series: series))
                    #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .minute) == expectedRollup(input, series: series, bucketSeconds: 60))
                    #expect(try await store.points(hostname: "web-1", series: series, from: 0, to: .infinity, resolution: .hour) == expectedRollup(input, series: series, bucketSeconds: 3600))
                }
            }
            #expect(try await b.statistics().raw.values == 180)
        }
    }

    @Test("an append makes at most maximumNewPartitionsPerAppend time spans; older samples past it are dropped")
    func partitionLimit() async throws {
        try await withMetricsBackend(.postgres, maximumNewPartitionsPerAppend: 4) { store, context in
            // One sample a day for five days: five raw spans (days), and one 30-day span of minute
            // and of hour rollups. Newest first: day 4 needs 3 new spans, day 3 one more, day 2 would pass 4.
            let input = samples(interval: 86_400, count: 5, names: ["v"]) { [Double($0)] }
            #expect(try await store.append(input) == 2)
            let points = try await store.points(hostname: "web-1", series: "v", from: 0, to: .infinity, resolution: .raw)
            #expect(points.map(\.avg) == [3, 4])
            let day = Int64(metricsEpoch * 1000) / 86_400_000
            #expect(try await self.partitions("metrics_raw_head", context).map(\.upper) == [4, 5, 6].map { (day + $0) * 86_400_000 })
        }
    }

    @Test("the metrics tables are range-partitioned on time and partitions are made ahead")
    func partitionedTables() async throws {
        try await withMetricsBackend(.postgres) { store, context in
            for table in ["metrics_raw_head", "metrics_raw_blocks", "metrics_minute_head", "metrics_minute_blocks", "metrics_hour_head", "metrics_hour_blocks"] {
                #expect(try await context.count("SELECT count(*) FROM pg_partitioned_table WHERE partrelid = '\(table)'::regclass AND partstrat = 'r'") == 1)
            }
            try await store.append(samples(count: 3) { [Double($0), 0] })
            // The sample's day and the next.
            let raw = try await self.partitions("metrics_raw_head", context)
            let day = Int64(metricsEpoch * 1000) / 86_400_000
            #expect(raw.map(\.upper) == [(day + 1) * 86_400_000, (day + 2) * 86_400_000])
        }
    }
}
