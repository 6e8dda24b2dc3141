import Foundation
import GRDB
import Synchronization

/// Metrics history in its own SQLite file, `metrics.sqlite`, beside `vigil.sqlite`.
///
/// A separate file has its own write lock and WAL, so a burst of metrics writes never delays the
/// keys and liveness writer. Each (host, resolution) has one open block whose rows are appended to
/// that level's head log as they arrive (see ``HeadRow`` and the schema notes in
/// ``migrator``); a full block is encoded column by column (``MetricsBlock``) into `blocks` in the
/// same transaction. Minute and hour rollups are accumulated in memory as samples arrive and
/// appended as rows of their own levels when their bucket ends; the open buckets are rebuilt from
/// the raw samples at start, so a restart loses nothing.
///
/// Concurrency: GRDB serialises writes; the in-memory state sits in a `Mutex` and is only changed
/// by writers, which work on a copy inside the write transaction and publish it after the commit,
/// so a failed transaction leaves memory as it was. Readers take the mutex only to copy what they
/// need (an open block's row ids, an open bucket's figures), never across database work. The class
/// is `Sendable` without `@unchecked`: its stored properties are immutable and `Sendable`.
public final class SQLiteMetricsStore: MetricsStore {
    /// The file name inside the data directory.
    public static let fileName = "metrics.sqlite"

    /// A rollup bucket this long past its end with no sample to close it is written by
    /// ``enforceRetention(now:)``, so a host that stopped reporting does not leave its last minute
    /// and hour only in raw data (which expires sooner). An hour is far beyond any agent's clock
    /// skew, so a bucket is not closed while samples for it may still come.
    static let staleBucketGraceMs: Int64 = 3_600_000

    /// A closed rollup bucket reached by back-fill is recomputed at the latest this long after its
    /// last back-filled sample (earlier when the replay moves past it), by the next write.
    static let backfillSettle: Duration = .seconds(5)
    /// Dirty buckets recomputed per write at most, so a catch-up never makes one commit long.
    static let settlePerWrite = 32

    let pool: DatabasePool
    let url: URL
    let retention: MetricsRetention
    /// Rows per sealed block, indexed by ``MetricResolution/level``.
    let blockRows: [Int]
    let state: Mutex<State>
    /// Rollup column names, one array per distinct series list (see ``RollupColumnNameCache``).
    let columnNames = RollupColumnNameCache()

    /// Opens (creating if needed) `metrics.sqlite` in a data directory, migrates it and rebuilds the
    /// in-memory state (open blocks, open rollup buckets) from it.
    ///
    /// - Parameters:
    ///   - directory: The data directory; created with mode 0700 when missing.
    ///   - retention: How long each resolution is kept by ``enforceRetention(now:)``.
    ///   - rawBlockRows: Samples per sealed raw block (120 = 10 minutes at 5 s).
    ///   - minuteBlockRows: Minute buckets per sealed block (60 = an hour).
    ///   - hourBlockRows: Hour buckets per sealed block (24 = a day).
    public init(directory: URL, retention: MetricsRetention = .init(), rawBlockRows: Int = 120, minuteBlockRows: Int = 60, hourBlockRows: Int = 24) throws {
        let limits = 1...MetricsBlock.maximumRows
        precondition(limits.contains(rawBlockRows) && limits.contains(minuteBlockRows) && limits.contains(hourBlockRows), "block rows out of range")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            if !db.configuration.readonly {
                // Sealing reads back rows appended over the block's span (minutes of the whole
                // fleet's samples): a larger cache than the 2 MiB default saves most of those reads.
                try db.execute(sql: "PRAGMA cache_size = -32768")
                // A burst (thousands of blocks sealed in one batch) can grow the WAL far beyond its
                // usual size: let SQLite shrink it back after the next checkpoint.
                try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
            }
        }
        self.url = directory.appendingPathComponent(Self.fileName)
        try DataDirectory.createPrivateFile(atPath: self.url.path)  // 0600 whatever the umask, and so its -wal and -shm
        self.pool = try DatabasePool(path: self.url.path, configuration: configuration)
        try self.pool.syncEveryCommit()
        try Self.migrator.migrate(self.pool)
        self.retention = retention
        self.blockRows = [rawBlockRows, minuteBlockRows, hourBlockRows]
        let state = try self.pool.read { db in try Self.loadState(db) }
        self.state = Mutex(state)
    }

    /// Closes the database connections. The store must not be used afterwards. Optional: they
    /// are also closed when the store is deallocated.
    public func close() throws {
        try self.pool.close()
    }

    // MARK: Writing

    @discardableResult
    public func append(_ samples: [MetricSample]) async throws -> Int {
        // Samples without a usable timestamp or series are dropped. Sort by time (then input
        // order) so a batch may list a host's samples in any order.
        var order: [(ms: Int64, index: Int)] = []
        order.reserveCapacity(samples.count)
        for (index, sample) in samples.enumerated() where sample.isStorable {
            if let ms = MetricTime.milliseconds(sample.timestamp) { order.append((ms, index)) }
        }
        guard !order.isEmpty else { return 0 }
        order.sort { $0.ms != $1.ms ? $0.ms < $1.ms : $0.index < $1.index }
        let batch = order

        return try await self.pool.writeWithoutTransaction { db in
            let snapshot = self.state.withLock { state in
                var ids: [String: Int64] = [:]
                var hosts: [Int64: HostState] = [:]
                for entry in batch {
                    let hostname = samples[entry.index].hostname
                    guard ids[hostname] == nil, let id = state.hostIDs[hostname] else { continue }
                    ids[hostname] = id
                    hosts[id] = state.hosts[id]
                }
                return (ids: ids, hosts: hosts, all: state.hosts, logs: state.logs, dirty: state.dirty)
            }
            var ids = snapshot.ids
            var hosts = snapshot.hosts
            var stored = 0
            var logs = snapshot.logs
            var dirty = snapshot.dirty
            let now = ContinuousClock.now
            try db.inTransaction {
                var writer = try SQLiteMetricsWriter(db, blockRows: self.blockRows, logs: snapshot.logs, dirty: snapshot.dirty, columnNames: self.columnNames)
                /// Per host, its samples not newer than its newest: back-fill, merged after the rest.
                var backfill: [Int64: [SQLiteMetricsWriter.MergeRow]] = [:]
                for entry in batch {
                    let sample = samples[entry.index]
                    let id = try writer.hostID(sample.hostname, ids: &ids)
                    var host = hosts.removeValue(forKey: id) ?? HostState()
                    defer { hosts[id] = host }
                    if try writer.append(sample, at: entry.ms, hostID: id, host: &host) {
                        stored += 1
                    } else {
                        backfill[id, default: []].append(.init(ms: entry.ms, names: sample.names, values: sample.values))
                    }
                }
                for (id, rows) in backfill {
                    var host = hosts.removeValue(forKey: id) ?? HostState()
                    defer { hosts[id] = host }
                    stored += try writer.backfill(rows, hostID: id, host: &host, now: now)
                }
                if !writer.dirty.isEmpty {
                    try writer.settle(before: now - Self.backfillSettle, limit: Self.settlePerWrite, hosts: &hosts, others: snapshot.all)
                }
                try writer.compactHeads(&hosts, others: snapshot.all)
                logs = writer.logs
                dirty = writer.dirty
                return .commit
            }
            self.state.withLock { state in
                for (hostname, id) in ids { state.hostIDs[hostname] = id }
                for (id, host) in hosts { state.hosts[id] = host }
                state.logs = logs
                state.dirty = dirty
            }
            return stored
        }
    }

    public func saveLatest(_ documents: [LatestDocument]) async throws {
        guard !documents.isEmpty else { return }
        try await self.pool.writeWithoutTransaction { db in
            var ids = self.state.withLock { $0.hostIDs }
            let before = ids.count
            try db.inTransaction {
                let writer = try SQLiteMetricsWriter(db, blockRows: self.blockRows, logs: [], columnNames: self.columnNames)
                let upsert = try db.cachedStatement(sql: """
                    INSERT INTO latest(host_id, ts, json) VALUES (?, ?, ?)
                    ON CONFLICT(host_id) DO UPDATE SET ts = excluded.ts, json = excluded.json
                    """)
                for document in documents {
                    let id = try writer.hostID(document.hostname, ids: &ids)
                    try upsert.execute(arguments: [id, document.timestamp, Data(document.json)])
                }
                return .commit
            }
            if ids.count != before {
                self.state.withLock { state in
                    for (hostname, id) in ids { state.hostIDs[hostname] = id }
                }
            }
        }
    }

    public func newestSampleTimes() async throws -> [String: Double] {
        self.state.withLock { state in
            var newest: [String: Double] = [:]
            for (hostname, id) in state.hostIDs {
                guard let ms = state.hosts[id]?.newestRawMs, ms != .min else { continue }
                newest[hostname] = MetricTime.seconds(ms)
            }
            return newest
        }
    }

    public func latestDocuments() async throws -> [LatestDocument] {
        try await self.pool.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT hostname, ts, json FROM latest JOIN hosts ON hosts.id = latest.host_id ORDER BY hostname")
            var documents: [LatestDocument] = []
            while let row = try rows.next() {
                let json: Data = row[2]
                documents.append(LatestDocument(hostname: row[0], timestamp: row[1], json: Array(json)))
            }
            return documents
        }
    }

    /// Checkpoints the WAL into the main file (passive: never waits for readers).
    ///
    /// Nothing needs saving: head rows are durable as they are written, and the open rollup buckets
    /// are rebuilt from raw samples at start. The checkpoint only makes the next start read a
    /// shorter log.
    public func flush() async throws {
        try await self.pool.writeWithoutTransaction { db in
            _ = try db.checkpoint(.passive)
        }
    }
}
