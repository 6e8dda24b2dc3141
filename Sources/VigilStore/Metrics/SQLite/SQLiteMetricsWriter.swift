import Foundation
import GRDB

/// Writes samples into `metrics.sqlite` inside one write transaction: head rows, block sealing,
/// rollup buckets and head log compaction. It works on copies of the hosts' in-memory state, which
/// the store publishes only after the transaction commits, so a failed transaction leaves memory
/// and disk in agreement.
///
/// Statements are GRDB cached statements: prepared once per connection, rebound per row.
struct SQLiteMetricsWriter {
    /// Rows per block, indexed by ``MetricResolution/level``.
    let blockRows: [Int]
    /// Live rows of each head log; the caller publishes it with the hosts after the commit.
    var logs: [HeadLogIndex]
    /// Rollup buckets awaiting recomputation after back-fill; published with the hosts too.
    var dirty: [RollupDirtyBucket: ContinuousClock.Instant]
    let db: Database
    private let insertHost: Statement
    private let selectHost: Statement
    private let insertHead: [Statement]
    private let selectHead: [Statement]
    private let markSealed: Statement
    private let truncateHead: [Statement]
    private let insertBlockData: Statement
    private let insertBlock: Statement

    /// Rollup column names shared across hosts.
    let columnNames: RollupColumnNameCache

    init(_ db: Database, blockRows: [Int], logs: [HeadLogIndex], dirty: [RollupDirtyBucket: ContinuousClock.Instant] = [:], columnNames: RollupColumnNameCache) throws {
        self.columnNames = columnNames
        self.blockRows = blockRows
        self.logs = logs
        self.dirty = dirty
        self.db = db
        self.insertHost = try db.cachedStatement(sql: "INSERT OR IGNORE INTO hosts(hostname) VALUES (?)")
        self.selectHost = try db.cachedStatement(sql: "SELECT id FROM hosts WHERE hostname = ?")
        let tables = MetricResolution.allCases.map(SQLiteMetricsStore.headTable)
        self.insertHead = try tables.map { try db.cachedStatement(sql: "INSERT INTO \($0)(host_id, ts_ms, names, data) VALUES (?, ?, ?, ?)") }
        self.selectHead = try tables.map { try db.cachedStatement(sql: "SELECT ts_ms, data FROM \($0) WHERE seq = ?") }
        self.markSealed = try db.cachedStatement(sql: """
            INSERT INTO head_sealed(host_id, resolution, seq) VALUES (?, ?, ?)
            ON CONFLICT(host_id, resolution) DO UPDATE SET seq = excluded.seq
            """)
        self.truncateHead = try tables.map { try db.cachedStatement(sql: "DELETE FROM \($0) WHERE seq < ?") }
        self.insertBlockData = try db.cachedStatement(sql: "INSERT INTO block_data(data) VALUES (?)")
        self.insertBlock = try db.cachedStatement(
            sql: "INSERT INTO blocks(host_id, resolution, start_ms, end_ms, rows, columns, bytes, data_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    }

    /// The id of a host, inserting it when new.
    func hostID(_ hostname: String, ids: inout [String: Int64]) throws -> Int64 {
        if let id = ids[hostname] { return id }
        try self.insertHost.execute(arguments: [hostname])
        guard let id = try Int64.fetchOne(self.selectHost, arguments: [hostname]) else {
            throw DatabaseError(resultCode: .SQLITE_INTERNAL, message: "host \(hostname) missing right after insert")
        }
        ids[hostname] = id
        return id
    }

    /// Stores one sample (already converted to milliseconds) and rolls it into the open buckets.
    /// - Returns: false when the sample is not newer than the host's newest: it was not stored here
    ///   (the caller back-fills it, ``backfill(_:hostID:host:)``).
    mutating func append(_ sample: MetricSample, at ms: Int64, hostID: Int64, host: inout SQLiteMetricsStore.HostState) throws -> Bool {
        guard ms > host.newestRawMs else { return false }
        try self.appendRow(.raw, hostID: hostID, host: &host, at: ms, names: sample.names, values: sample.values)
        host.newestRawMs = ms
        for resolution in MetricResolution.rollups {
            let start = MetricTime.bucketStart(ms, resolution)
            if let bucket = host.bucket(resolution), bucket.start < start {
                try self.close(bucket, resolution, hostID: hostID, host: &host)
            }
            if host.bucket(resolution) == nil {
                // A bucket already written (closed early by retention as stale) is not reopened.
                guard start > host.levels[resolution.level].lastRowMs else { continue }
                host.setBucket(RollupAccumulator(start: start), resolution)
            }
            if resolution == .hour {
                host.hourBucket!.add(names: sample.names, values: sample.values)
            } else {
                host.minuteBucket!.add(names: sample.names, values: sample.values)
            }
        }
        return true
    }

    /// Writes a finished bucket as one row of its rollup level and forgets it.
    mutating func close(_ bucket: RollupAccumulator, _ resolution: MetricResolution, hostID: Int64, host: inout SQLiteMetricsStore.HostState) throws {
        host.setBucket(nil, resolution)
        guard !bucket.isEmpty else { return }
        let columns = host.rollupColumnNames(for: bucket.names, shared: self.columnNames)
        try self.appendRow(resolution, hostID: hostID, host: &host, at: bucket.start, names: columns, values: bucket.rowValues())
    }

    /// Appends a row to the open block of a level, sealing it first when the columns differ and
    /// after when it is full.
    mutating func appendRow(_ resolution: MetricResolution, hostID: Int64, host: inout SQLiteMetricsStore.HostState, at ms: Int64, names: [String], values: [Double]) throws {
        let level = resolution.level
        if let open = host.levels[level].open, open.columns != names {
            try self.seal(resolution, hostID: hostID, host: &host)
        }
        let namesData = host.levels[level].open == nil ? HeadRow.data(names: names) : nil
        try self.insertHead[level].execute(arguments: [hostID, ms, namesData, HeadRow.data(values: values)])
        let seq = self.db.lastInsertedRowID
        self.logs[level].appended(hostID: hostID, seq: seq)
        if let namesData {
            host.levels[level].open = SQLiteMetricsStore.OpenBlock(columns: names, startMs: ms, seqs: [seq], namesBytes: namesData.count)
        } else {
            host.levels[level].open!.seqs.append(seq)
        }
        host.levels[level].lastRowMs = ms
        if host.levels[level].open!.rows >= self.blockRows[level] {
            try self.seal(resolution, hostID: hostID, host: &host)
        }
    }

    /// Encodes the open block's head rows as one block and stores it. The rows stay in the head
    /// log, dead (`head_sealed`), until ``compactHeads(_:others:)`` deletes the log's prefix.
    mutating func seal(_ resolution: MetricResolution, hostID: Int64, host: inout SQLiteMetricsStore.HostState) throws {
        let level = resolution.level
        guard let open = host.levels[level].open else { return }
        let width = open.columns.count
        var timestamps: [Int64] = []
        timestamps.reserveCapacity(open.rows)
        var columns = [[Double]](repeating: [], count: width)
        for index in columns.indices { columns[index].reserveCapacity(open.rows) }
        for seq in open.seqs {
            guard let row = try Row.fetchOne(self.selectHead[level], arguments: [seq]) else {
                throw MetricsCodecError.corrupt("head row \(seq) of host \(hostID) at \(resolution.name) is missing")
            }
            timestamps.append(row[0])
            try row.withUnsafeData(atIndex: 1) { data in
                guard let data else { throw MetricsCodecError.corrupt("head row \(seq) without data") }
                try data.withUnsafeBytes { buffer in
                    _ = try HeadRow.checkedCount(of: buffer, columns: width)
                    for column in 0..<width {
                        columns[column].append(HeadRow.value(at: column, in: buffer))
                    }
                }
            }
        }
        guard open.rows <= MetricsBlock.maximumRows, !timestamps.isEmpty else {
            throw MetricsCodecError.corrupt("open block of host \(hostID) at \(resolution.name) has \(open.rows) rows")
        }
        try self.writeBlock(MetricsBlock(timestamps: timestamps, columnNames: open.columns, columns: columns), resolution, hostID: hostID)
        try self.markDead(open, resolution, hostID: hostID, host: &host)
    }

    /// Encodes a block and stores it (its rows must not overlap another block of the level).
    func writeBlock(_ block: MetricsBlock, _ resolution: MetricResolution, hostID: Int64) throws {
        guard let first = block.timestamps.first, let last = block.timestamps.last else { return }
        let bytes = block.encoded()
        try self.insertBlockData.execute(arguments: [Data(bytes)])
        let dataID = self.db.lastInsertedRowID
        try self.insertBlock.execute(arguments: [hostID, resolution.rawValue, first, last, block.timestamps.count, block.columnNames.count, bytes.count, dataID])
    }

    /// Records that an open block's head rows are dead (sealed or discarded) and forgets the block.
    private mutating func markDead(_ open: SQLiteMetricsStore.OpenBlock, _ resolution: MetricResolution, hostID: Int64, host: inout SQLiteMetricsStore.HostState) throws {
        try self.markSealed.execute(arguments: [hostID, resolution.rawValue, open.seqs[open.seqs.count - 1]])
        host.levels[resolution.level].open = nil
        self.logs[resolution.level].closed(hostID: hostID)
    }

    /// Drops an open block without sealing it (retention); its rows go with the log's prefix.
    mutating func discardOpenBlock(_ resolution: MetricResolution, hostID: Int64, host: inout SQLiteMetricsStore.HostState) throws {
        guard let open = host.levels[resolution.level].open else { return }
        try self.markDead(open, resolution, hostID: hostID, host: &host)
    }

    /// Deletes, per level, the head log's rows before the oldest open block's first row: rows of
    /// sealed blocks, now dead. A whole prefix frees whole pages, which later appends reuse.
    ///
    /// An open block that stays open while the rest of the fleet moves on (a host that stopped
    /// reporting, or reports far less often) would pin the log: when the log spans more than twice
    /// the rows its open blocks can hold, the oldest open blocks are sealed early, as partial blocks.
    ///
    /// - Parameters:
    ///   - hosts: The hosts this transaction works on; hosts sealed here are added.
    ///   - others: The published state of every host (those in `hosts` are taken from `hosts`).
    mutating func compactHeads(_ hosts: inout [Int64: SQLiteMetricsStore.HostState], others: [Int64: SQLiteMetricsStore.HostState]) throws {
        for resolution in MetricResolution.allCases {
            let level = resolution.level
            let open = self.logs[level].open
            guard let oldest = open.min(by: { $0.value.first < $1.value.first }), let newest = self.logs[level].newest else {
                try self.truncateHead[level].execute(arguments: [Int64.max])
                continue
            }
            let allowance = Int64(2 * self.blockRows[level] * open.count)
            var keep = oldest.value.first
            if newest - keep >= allowance {
                let firsts = open.map { (seq: $0.value.first, hostID: $0.key) }.sorted { $0.seq < $1.seq }
                var index = 0
                while index < firsts.count - 1 && newest - firsts[index].seq >= allowance {
                    let hostID = firsts[index].hostID
                    var host = hosts[hostID] ?? others[hostID]!
                    try self.seal(resolution, hostID: hostID, host: &host)
                    hosts[hostID] = host
                    index += 1
                }
                keep = firsts[index].seq
            }
            try self.truncateHead[level].execute(arguments: [keep])
        }
    }
}
