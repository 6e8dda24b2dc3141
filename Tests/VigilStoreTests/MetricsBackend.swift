import Foundation
import GRDB
import Logging
import PostgresNIO
import Testing
import VigilLocalPostgres
@testable import VigilPostgres
@testable import VigilStore

/// The metrics stores the shared metrics tests run against.
enum MetricsBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { self.rawValue }
}

/// The data behind a store under test, to open it again (a restart, or a second server) and to
/// look at its tables.
final class MetricsTestContext: Sendable {
    let backend: MetricsBackend
    let directory: URL
    let postgres: PostgresStore?
    let server: LocalPostgres?
    let database: String
    let sqliteOptions: (retention: MetricsRetention, raw: Int, minute: Int, hour: Int)
    let postgresOptions: PostgresMetricsOptions

    init(backend: MetricsBackend, directory: URL, postgres: PostgresStore?, server: LocalPostgres?, database: String, options: PostgresMetricsOptions) {
        self.backend = backend
        self.directory = directory
        self.postgres = postgres
        self.server = server
        self.database = database
        self.postgresOptions = options
        self.sqliteOptions = (options.retention, options.rawBlockRows, options.minuteBlockRows, options.hourBlockRows)
    }

    /// A new store on the same data: a restarted server for SQLite (close the old one first), or
    /// another server of a cluster for PostgreSQL (nothing cached).
    func open() throws -> any MetricsStore {
        switch self.backend {
        case .sqlite:
            return try SQLiteMetricsStore(directory: self.directory, retention: self.sqliteOptions.retention, rawBlockRows: self.sqliteOptions.raw,
                                          minuteBlockRows: self.sqliteOptions.minute, hourBlockRows: self.sqliteOptions.hour)
        case .postgres:
            return PostgresMetricsStore(store: self.postgres!, options: self.postgresOptions)
        }
    }

    /// Closes a store before it is opened again (SQLite's file is closed; PostgreSQL's pool is shared).
    func close(_ store: any MetricsStore) throws {
        if let store = store as? SQLiteMetricsStore { try store.close() }
    }

    /// Sealed blocks and open-block (head) rows per resolution.
    func tableCounts(_ store: any MetricsStore) async throws -> (blocks: [MetricResolution: Int], head: [MetricResolution: Int]) {
        if let store = store as? SQLiteMetricsStore { return try await store.tableCounts() }
        var blocks: [MetricResolution: Int] = [:]
        var head: [MetricResolution: Int] = [:]
        for resolution in MetricResolution.allCases {
            blocks[resolution] = try await self.count("SELECT count(*) FROM \(MetricsTable(resolution: resolution, kind: .blocks).name)")
            head[resolution] = try await self.count("SELECT count(*) FROM \(MetricsTable(resolution: resolution, kind: .head).name)")
        }
        return (blocks, head)
    }

    /// One number from SQL on the PostgreSQL database.
    func count(_ sql: String) async throws -> Int {
        let rows = try await self.postgres!.client.query(PostgresQuery(unsafeSQL: sql))
        for try await value in rows.decode(Int64.self) { return Int(value) }
        return 0
    }

    /// (start_ms, end_ms, rows, columns) of the sealed blocks of a level, oldest first.
    func blocks(_ resolution: MetricResolution, of store: any MetricsStore) async throws -> [[Int64]] {
        if let store = store as? SQLiteMetricsStore {
            return try await store.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT start_ms, end_ms, rows, columns FROM blocks WHERE resolution = ? ORDER BY start_ms", arguments: [resolution.rawValue])
                    .map { [$0[0], $0[1], $0[2], $0[3]] as [Int64] }
            }
        }
        let table = MetricsTable(resolution: resolution, kind: .blocks).name
        let rows = try await self.postgres!.client.query(PostgresQuery(unsafeSQL: "SELECT start_ms, end_ms, rows::bigint, columns::bigint FROM \(table) ORDER BY start_ms"))
        var blocks: [[Int64]] = []
        for try await (start, end, count, columns) in rows.decode((Int64, Int64, Int64, Int64).self) { blocks.append([start, end, count, columns]) }
        return blocks
    }
}

/// A fresh metrics store of `backend`: SQLite in a temporary directory, or PostgreSQL in a new
/// database of the suite's server (``PostgresServerTrait``). Returns nil, printing why, when the
/// PostgreSQL case cannot run here.
@discardableResult
func withMetricsBackend<T>(
    _ backend: MetricsBackend, retention: MetricsRetention = .init(), rawBlockRows: Int = 120, minuteBlockRows: Int = 60, hourBlockRows: Int = 24,
    rawPartitionSpan: Duration = .seconds(86_400), rollupPartitionSpan: Duration = .seconds(30 * 86_400), maximumNewPartitionsPerAppend: Int = 64,
    _ body: (any MetricsStore, MetricsTestContext) async throws -> T
) async throws -> T? {
    let options = PostgresMetricsOptions(retention: retention, rawBlockRows: rawBlockRows, minuteBlockRows: minuteBlockRows, hourBlockRows: hourBlockRows,
                                         rawPartitionSpan: rawPartitionSpan, rollupPartitionSpan: rollupPartitionSpan,
                                         maximumNewPartitionsPerAppend: maximumNewPartitionsPerAppend)
    return try await withTemporaryDirectory { directory in
        switch backend {
        case .sqlite:
            let context = MetricsTestContext(backend: backend, directory: directory, postgres: nil, server: nil, database: "", options: options)
            return try await body(try context.open(), context)
        case .postgres:
            guard let server = PostgresServerTrait.server else {
                print("SKIPPED (postgres): \(Test.current?.name ?? "a metrics test"): \(PostgresServerTrait.unavailableReason ?? "no PostgreSQL server in this suite's scope")")
                return nil
            }
            let database = "metrics_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
            try await server.createDatabase(database)
            var settings = try PostgresStoreSettings(url: server.url(database: database))
            settings.tls = .disable
            var logger = Logger(label: "vigil.tests.metrics.postgres")
            logger.logLevel = .warning
            let postgres = try await PostgresStore.connect(settings, logger: logger)
            let context = MetricsTestContext(backend: backend, directory: directory, postgres: postgres, server: server, database: database, options: options)
            do {
                let result = try await body(try context.open(), context)
                await postgres.close()
                return result
            } catch {
                await postgres.close()
                if let error = error as? PSQLError { print("PostgreSQL error in \(Test.current?.name ?? "a test"): \(String(reflecting: error))") }
                throw error
            }
        }
    }
}
