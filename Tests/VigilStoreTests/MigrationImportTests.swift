import Foundation
import GRDB
import Logging
import Testing
import VigilLocalPostgres
import VigilPostgres
@testable import VigilStore

/// `vigil migrate`'s copy (SQLiteStoreExport/SQLiteMetricsExport into PostgresStore+Import and
/// PostgresMetricsStore+Import) against a real PostgreSQL: what was stored reads back the same, ids
/// and sequences included, and the history (sealed blocks of every level, open blocks, back-fill
/// still to recompute) answers as it should and carries on.
@Suite("vigil migrate's copy into PostgreSQL", .postgres, .serialized)
struct MigrationImportTests {
    /// A new, empty database on the suite's server, or nil (skipped loudly) without PostgreSQL.
    static func postgres() async throws -> PostgresStore? {
        guard let server = PostgresServerTrait.server else {
            print("SKIPPED (postgres): \(PostgresServerTrait.unavailableReason ?? "no PostgreSQL server")")
            return nil
        }
        let database = "migrate_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        try await server.createDatabase(database)
        let settings = try PostgresStoreSettings(url: server.url(database: database) + "?sslmode=disable")
        return try await PostgresStore.connect(settings, logger: Logger(label: "test.migrate"))
    }

    /// Runs `body` on a new database, closing its pool afterwards (skipped without PostgreSQL).
    static func withTarget(_ body: (PostgresStore) async throws -> Void) async throws {
        guard let target = try await Self.postgres() else { return }
        do {
            try await body(target)
        } catch {
            await target.close()
            throw error
        }
        await target.close()
    }

    @Test("store tables keep their ids, and a sequence moves past ids retention deleted")
    func storeTables() async throws {
        try await Self.withTarget { target in
            try await withStore { sqlite, directory in
                let issued = try await sqlite.createKey(hostname: "web-1")
                let written = try await sqlite.append((1...5).map { index in
                    NewMessage(messageID: "m\(index)", sender: "alice", recipient: nil, content: "message \(index)", storedAt: date(1_700_000_000 + Double(index)))
                })
                #expect(written.count == 5)
                // Retention deleted the two newest: SQLite never draws ids 4 and 5 again, nor may PostgreSQL.
                let queue = try DatabaseQueue(path: directory.appendingPathComponent(SQLiteStore.fileName).path)
                try await queue.write { db in try db.execute(sql: "DELETE FROM messages WHERE id > 3") }
                try queue.close()

                let serverID = try await sqlite.serverID()
                #expect(try await target.tablesHoldingRows(StoreTable.all).isEmpty)
                let source = try SQLiteStoreExport(directory: directory)
                for table in StoreTable.all {
                    let copied = try await target.importTable(table, from: source, rowsPerBatch: 2)
                    #expect(copied == (try source.count(table)), "\(table.name)")
                    #expect(try await target.count(table) == copied, "\(table.name)")
                }
                #expect(try source.highestID(StoreTable.messages[0]) == 5)
                #expect(try await target.sequenceValue(of: StoreTable.messages[0]) == 5)
                #expect(try await target.tablesHoldingRows(StoreTable.all).contains("agent_keys"))

                let before = try await sqlite.conversation(ConversationQuery(limit: 100))
                let after = try await target.conversation(ConversationQuery(limit: 100))
                #expect(after == before)
                #expect(after.map(\.id) == [3, 2, 1])
                #expect(try await target.listKeys() == (try await sqlite.listKeys()))
                #expect(try await target.verifyKey(issued.token).validKey?.id == issued.key.id)
                #expect(try await target.serverID() == serverID)

                let next = try await target.append([NewMessage(messageID: "m6", sender: "alice", recipient: nil, content: "after the move", storedAt: date(1_700_000_010))])
                guard case .stored(let message) = next.first else {
                    Issue.record("not stored: \(next)")
                    return
                }
                #expect(message.id == 6)
            }
        }
    }

    @Test("the history copied as stored reads as computed from the samples, back-fill included, and carries on")
    func metricsHistory() async throws {
        try await Self.withTarget { target in
            let metrics = PostgresMetricsStore(store: target)
            // Small blocks, so every level has sealed blocks and open rows: 5 s samples over 3 h 10 min.
            try await withMetricsStore(rawBlockRows: 10, minuteBlockRows: 3, hourBlockRows: 2) { sqlite, directory in
                let web1 = samples(host: "web-1", count: 2280) { [Double($0 % 97), Double($0 % 13)] }
                let web2 = samples(host: "web-2", start: metricsEpoch + 2.5, count: 700, names: ["cpu"]) { [Double($0 % 7)] }
                // A gap in web-1 replayed later (back-fill): its closed buckets await recomputation.
                let gap = 1000..<1060
                let inOrder = web1.enumerated().filter { !gap.contains($0.offset) }.map(\.element) + web2
                for start in stride(from: 0, to: inOrder.count, by: 100) {
                    try await sqlite.append(Array(inOrder[start..<min(inOrder.count, start + 100)]))
                }
                try await sqlite.append(Array(web1[gap]))
                try await sqlite.saveLatest([LatestDocument(hostname: "web-1", timestamp: web1.last!.timestamp, json: Array(#"{"cpu":{}}"#.utf8))])

                let history = try #require(try SQLiteMetricsExport.open(directory: directory))
                #expect(try !history.dirtyBuckets().isEmpty, "the test needs rollup buckets awaiting recomputation")
                let sqliteCounts = try history.rowCounts()
                let result = try await metrics.importHistory(from: history, rowsPerBatch: 7, blocksPerBatch: 3)
                #expect(result.hosts == 2)
                #expect(result.samples == Int64(web1.count + web2.count))

                // Verification: rows per host and level match, but for the buckets that gained a row.
                let postgresCounts = try await metrics.rowCounts()
                for hostname in ["web-1", "web-2"] {
                    let expected = zip(sqliteCounts[hostname]!.levels, result.gains[hostname]?.levels ?? [0, 0, 0]).map { $0 + $1 }
                    #expect(postgresCounts[hostname]?.levels == expected, "\(hostname)")
                }
                #expect(try await target.tablesHoldingRows([]).contains("metrics_hosts"))

                let to = metricsEpoch + 4 * 3600
                func check(_ all: [String: [MetricSample]]) async throws {
                    for (hostname, hostSamples) in all {
                        for series in hostSamples[0].names {
                            let raw = try await metrics.points(hostname: hostname, series: series, from: metricsEpoch, to: to, resolution: .raw)
                            #expect(samePoints(raw, expectedRawPoints(hostSamples, series: series)), "\(hostname) \(series) raw")
                            for (resolution, seconds) in [(MetricResolution.minute, 60.0), (.hour, 3600.0)] {
                                let points = try await metrics.points(hostname: hostname, series: series, from: metricsEpoch, to: to, resolution: resolution)
                                #expect(samePoints(points, expectedRollup(hostSamples, series: series, bucketSeconds: seconds)), "\(hostname) \(series) \(resolution.name)")
                            }
                        }
                    }
                }
                try await check(["web-1": web1, "web-2": web2])
                #expect(try await metrics.newestSampleTimes() == (try await sqlite.newestSampleTimes()))
                #expect(try await metrics.latestDocuments() == (try await sqlite.latestDocuments()))
                #expect(try await metrics.seriesNames(hostname: "web-1") == (try await sqlite.seriesNames(hostname: "web-1")))

                // A server on the copy carries on: new samples close the open buckets with what was copied.
                let more = samples(host: "web-1", start: web1.last!.timestamp + 5, count: 200) { [Double($0 % 5), 1] }
                #expect(try await metrics.append(more) == more.count)
                #expect(try await metrics.append(Array(web1[0..<10])) == 0, "a copied sample is not stored twice")
                try await check(["web-1": web1 + more, "web-2": web2])
                try history.close()
            }
        }
    }
}
