import Foundation
import GRDB

extension SQLiteMetricsStore {
    /// Rebuilds the in-memory state at start: per host and level the newest sealed row's time and
    /// the open block (the live rows of the head log), then the open minute and hour buckets from
    /// the raw samples of the current minute and hour (raw retention is far longer than an hour).
    ///
    /// A head row is live when its id is past the last one `head_sealed` records for its host and
    /// level; the others belong to sealed or discarded blocks and wait for the log's compaction.
    static func loadState(_ db: Database) throws -> State {
        var state = State()
        for row in try Row.fetchAll(db, sql: "SELECT id, hostname FROM hosts") {
            state.hostIDs[row[1]] = row[0]
            state.hosts[row[0]] = HostState()
        }
        let lastBlockSQL = "SELECT end_ms FROM blocks WHERE host_id = ? AND resolution = ? ORDER BY start_ms DESC LIMIT 1"
        for hostID in Array(state.hosts.keys) {
            for resolution in MetricResolution.allCases {
                if let end = try Int64.fetchOne(db.cachedStatement(sql: lastBlockSQL), arguments: [hostID, resolution.rawValue]) {
                    state.hosts[hostID]!.levels[resolution.level].lastRowMs = end
                }
            }
        }
        var sealed: [Int64: [Int64]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT host_id, resolution, seq FROM head_sealed") {
            guard let resolution = MetricResolution(rawValue: row[1]) else { continue }
            sealed[row[0], default: [0, 0, 0]][resolution.level] = row[2]
        }
        for resolution in MetricResolution.allCases {
            let level = resolution.level
            let rows = try Row.fetchCursor(db, sql: "SELECT seq, host_id, ts_ms, names FROM \(Self.headTable(resolution)) ORDER BY seq")
            while let row = try rows.next() {
                let seq: Int64 = row[0]
                let hostID: Int64 = row[1]
                let ms: Int64 = row[2]
                guard var host = state.hosts.removeValue(forKey: hostID) else {
                    throw MetricsCodecError.corrupt("head row \(seq) at \(resolution.name) belongs to unknown host \(hostID)")
                }
                defer { state.hosts[hostID] = host }
                guard seq > sealed[hostID]?[level] ?? 0 else { continue }  // dead: sealed or discarded
                if host.levels[level].open == nil {
                    let (names, size) = try row.withUnsafeData(atIndex: 3) { data in
                        guard let data else { throw MetricsCodecError.corrupt("first live head row \(seq) at \(resolution.name) has no names") }
                        return (try data.withUnsafeBytes { buffer in try HeadRow.names(from: buffer) }, data.count)
                    }
                    host.levels[level].open = OpenBlock(columns: names, startMs: ms, seqs: [seq], namesBytes: size)
                } else {
                    host.levels[level].open!.seqs.append(seq)
                }
                state.logs[level].appended(hostID: hostID, seq: seq)
                host.levels[level].lastRowMs = ms
            }
        }
        // Buckets a back-fill left to recompute: due at the next write.
        let due = ContinuousClock.now - SQLiteMetricsStore.backfillSettle
        for row in try Row.fetchAll(db, sql: "SELECT host_id, resolution, start_ms FROM rollup_dirty") {
            guard let resolution = MetricResolution(rawValue: row[1]) else { continue }
            state.dirty[RollupDirtyBucket(hostID: row[0], resolution: resolution, start: row[2])] = due
        }
        for hostID in Array(state.hosts.keys) {
            var host = state.hosts.removeValue(forKey: hostID)!
            host.newestRawMs = host.levels[MetricResolution.raw.level].lastRowMs
            try Self.rebuildBuckets(db, hostID: hostID, host: &host)
            state.hosts[hostID] = host
        }
        return state
    }

    /// Refills the open buckets of the bucket holding the newest raw sample, unless that bucket
    /// was already written (closed as stale by retention).
    static func rebuildBuckets(_ db: Database, hostID: Int64, host: inout HostState) throws {
        let newest = host.newestRawMs
        guard newest != .min else { return }
        var from = Int64.max
        for resolution in MetricResolution.rollups {
            let start = MetricTime.bucketStart(newest, resolution)
            guard start > host.levels[resolution.level].lastRowMs else { continue }
            host.setBucket(RollupAccumulator(start: start), resolution)
            from = Swift.min(from, start)
        }
        guard from <= newest else { return }
        let open = host.levels[MetricResolution.raw.level].open
        try Self.forEachRawRow(db, hostID: hostID, open: open, range: from...newest) { ms, names, values in
            for resolution in MetricResolution.rollups {
                guard var bucket = host.bucket(resolution), ms >= bucket.start else { continue }
                host.setBucket(nil, resolution)  // keep the accumulator uniquely referenced while it grows
                bucket.add(names: names, values: values)
                host.setBucket(bucket, resolution)
            }
        }
    }

    /// Every raw row of a host within `range`, oldest first, with all its columns: from sealed
    /// blocks, then from the open block's head rows.
    /// The times of a host's raw rows within `range` (sealed blocks: the timestamp stream only).
    static func rawTimes(_ db: Database, hostID: Int64, open: OpenBlock?, range: ClosedRange<Int64>) throws -> Set<Int64> {
        var times = Set<Int64>()
        let blocks = try Row.fetchAll(db, sql: Self.overlappingBlocksSQL, arguments: [
            "host": hostID, "resolution": MetricResolution.raw.rawValue, "from": range.lowerBound, "to": range.upperBound,
        ])
        for row in blocks {
            try row.withUnsafeData(atIndex: 1) { data in
                guard let data else { return }
                try data.withUnsafeBytes { buffer in
                    for ms in try MetricsBlockReader(buffer).timestamps() where range.contains(ms) { times.insert(ms) }
                }
            }
        }
        guard let open, open.startMs <= range.upperBound else { return times }
        let select = try db.cachedStatement(sql: "SELECT ts_ms FROM \(Self.headTable(.raw)) WHERE seq = ?")
        for seq in open.seqs {
            guard let ms = try Int64.fetchOne(select, arguments: [seq]) else { continue }
            if range.contains(ms) { times.insert(ms) }
        }
        return times
    }

    static func forEachRawRow(_ db: Database, hostID: Int64, open: OpenBlock?, range: ClosedRange<Int64>, _ body: (Int64, [String], [Double]) throws -> Void) throws {
        let blocks = try Row.fetchAll(db, sql: Self.overlappingBlocksSQL, arguments: [
            "host": hostID, "resolution": MetricResolution.raw.rawValue, "from": range.lowerBound, "to": range.upperBound,
        ])
        for row in blocks {
            let data: Data = row[1]
            let block = try MetricsBlock(decoding: Array(data))
            var values = [Double](repeating: 0, count: block.columns.count)
            for (index, ms) in block.timestamps.enumerated() where range.contains(ms) {
                for column in block.columns.indices { values[column] = block.columns[column][index] }
                try body(ms, block.columnNames, values)
            }
        }
        // The open block's rows all come after its start.
        guard let open, open.startMs <= range.upperBound else { return }
        let select = try db.cachedStatement(sql: "SELECT ts_ms, data FROM \(Self.headTable(.raw)) WHERE seq = ?")
        for seq in open.seqs {
            guard let row = try Row.fetchOne(select, arguments: [seq]) else {
                throw MetricsCodecError.corrupt("raw head row \(seq) of host \(hostID) is missing")
            }
            let ms: Int64 = row[0]
            guard range.contains(ms) else { continue }
            let data: Data = row[1]
            let values = try data.withUnsafeBytes { buffer in
                let count = try HeadRow.checkedCount(of: buffer, columns: open.columns.count)
                return (0..<count).map { HeadRow.value(at: $0, in: buffer) }
            }
            try body(ms, open.columns, values)
        }
    }
}
