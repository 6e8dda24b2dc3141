import Foundation
import GRDB

/// Back-fill: samples older than the host's newest stored one (an agent replaying its spool after
/// an outage, PROTOCOL.md §4.6), stored into raw history and rollups, once per (host, millisecond).
///
/// Raw rows are merged at once; a closed rollup bucket is recomputed once the replay has moved past
/// it (see ``backfill(_:hostID:host:now:)``), so for a moment its minute or hour figures lack the
/// samples just replayed into it.
///
/// Why re-encoding rather than a separate back-fill block: the readers rely on the blocks of a
/// level never overlapping in time and on the open block coming after every sealed one (the range
/// query starts at the last block before `from`; head rows count only past the newest block's end;
/// start-up takes the newest block's end as the level's last time). A back-fill block laid over a
/// gap inside another block, or inside the open block's span (a server restarted during an outage
/// keeps its open block across the gap), would break all three. Merging the back-filled rows into
/// the blocks they fall among keeps every invariant, costs one decode and encode of the few blocks
/// touched per batch (an agent replays a few samples per commit, and a block is 120 rows), and
/// leaves the history exactly as if the samples had arrived in time, whatever order the replay
/// comes in, with no second kind of block for readers, retention or the PostgreSQL store to know.
extension SQLiteMetricsWriter {
    /// One row to merge: its time, column names and values.
    struct MergeRow {
        var ms: Int64
        var names: [String]
        var values: [Double]
    }

    /// Stores the samples of one host that are not newer than its newest stored sample, skipping
    /// any whose millisecond is already stored (or repeated within `samples`), and brings the
    /// rollups up to date: the open buckets in memory at once; a closed bucket's stored row is
    /// recomputed from the raw rows (so a sample is counted once however often it is replayed)
    /// once the replay has moved past that bucket, or within ``SQLiteMetricsStore/backfillSettle``
    /// of its last back-filled sample (``settle(_:hosts:others:)``). Recomputing per sample would
    /// re-encode a minute block and decode an hour of raw rows for every replayed sample: measured
    /// 17 samples/s for 10 hosts of 100 series, against 2,000/s in order.
    ///
    /// - Parameter samples: Sorted by time.
    /// - Returns: How many samples were stored.
    mutating func backfill(_ samples: [MergeRow], hostID: Int64, host: inout SQLiteMetricsStore.HostState, now: ContinuousClock.Instant) throws -> Int {
        guard let first = samples.first?.ms, let last = samples.last?.ms else { return 0 }
        var stored = try SQLiteMetricsStore.rawTimes(self.db, hostID: hostID, open: host.levels[MetricResolution.raw.level].open, range: first...last)
        var fresh: [MergeRow] = []
        for sample in samples where stored.insert(sample.ms).inserted {
            fresh.append(sample)
        }
        guard !fresh.isEmpty else { return 0 }
        try self.merge(fresh, into: .raw, hostID: hostID, host: &host, replacing: false)
        for resolution in MetricResolution.rollups {
            var earliest = Int64.max
            for sample in fresh {
                let start = MetricTime.bucketStart(sample.ms, resolution)
                earliest = min(earliest, start)
                if var bucket = host.bucket(resolution), bucket.start == start {
                    host.setBucket(nil, resolution)  // keep the accumulator uniquely referenced
                    bucket.addOlder(names: sample.names, values: sample.values)
                    host.setBucket(bucket, resolution)
                } else {
                    let key = RollupDirtyBucket(hostID: hostID, resolution: resolution, start: start)
                    if self.dirty.updateValue(now, forKey: key) == nil {
                        try self.db.execute(sql: "INSERT OR IGNORE INTO rollup_dirty(host_id, resolution, start_ms) VALUES (?, ?, ?)",
                                            arguments: [hostID, resolution.rawValue, start])
                    }
                }
            }
            // A replay goes oldest first: buckets before the earliest one it reaches now are complete.
            let passed = self.dirty.keys.filter { $0.hostID == hostID && $0.resolution == resolution && $0.start < earliest }
            for key in passed.sorted(by: { $0.start < $1.start }) {
                try self.refresh(key, host: &host)
            }
        }
        return fresh.count
    }

    /// Recomputes the dirty buckets last reached before `before` (all of them when `nil`), at most
    /// `limit` per call, so a write transaction never carries a large catch-up.
    ///
    /// - Parameters:
    ///   - hosts: The hosts this transaction works on; hosts refreshed here are added.
    ///   - others: The published state of every host.
    mutating func settle(before: ContinuousClock.Instant?, limit: Int = .max, hosts: inout [Int64: SQLiteMetricsStore.HostState], others: [Int64: SQLiteMetricsStore.HostState]) throws {
        let due = self.dirty.filter { entry in before.map { entry.value < $0 } ?? true }.keys
            .sorted { ($0.hostID, $0.resolution.rawValue, $0.start) < ($1.hostID, $1.resolution.rawValue, $1.start) }
        for key in due.prefix(limit) {
            guard var host = hosts[key.hostID] ?? others[key.hostID] else {
                self.dirty[key] = nil
                continue
            }
            try self.refresh(key, host: &host)
            hosts[key.hostID] = host
        }
    }

    /// Recomputes one closed bucket from the raw rows and replaces (or adds) its stored row.
    private mutating func refresh(_ key: RollupDirtyBucket, host: inout SQLiteMetricsStore.HostState) throws {
        self.dirty[key] = nil
        try self.db.execute(sql: "DELETE FROM rollup_dirty WHERE host_id = ? AND resolution = ? AND start_ms = ?",
                            arguments: [key.hostID, key.resolution.rawValue, key.start])
        var bucket = RollupAccumulator(start: key.start)
        let end = key.start + MetricTime.bucketMilliseconds(key.resolution) - 1
        try SQLiteMetricsStore.forEachRawRow(self.db, hostID: key.hostID, open: host.levels[MetricResolution.raw.level].open, range: key.start...end) { _, names, values in
            bucket.add(names: names, values: values)
        }
        guard !bucket.isEmpty else { return }
        let columns = host.rollupColumnNames(for: bucket.names, shared: self.columnNames)
        try self.merge([MergeRow(ms: key.start, names: columns, values: bucket.rowValues())], into: key.resolution, hostID: key.hostID, host: &host, replacing: true)
    }

    /// Merges rows into a level's sealed blocks: the open block is sealed first when the rows reach
    /// into its span, the blocks overlapping the rows' span are decoded, merged with the rows
    /// (`replacing`: a row replaces a stored one of the same time; otherwise the stored one stays)
    /// and written back as blocks of at most `blockRows` rows, one per run of equal columns.
    mutating func merge(_ rows: [MergeRow], into resolution: MetricResolution, hostID: Int64, host: inout SQLiteMetricsStore.HostState, replacing: Bool) throws {
        guard let low = rows.first?.ms, let high = rows.last?.ms else { return }
        let level = resolution.level
        if let open = host.levels[level].open, open.startMs <= high {
            try self.seal(resolution, hostID: hostID, host: &host)
        }
        var merged: [Int64: (names: [String], values: [Double])] = [:]
        let blocks = try Row.fetchAll(self.db, sql: """
            SELECT start_ms, data_id, data FROM blocks JOIN block_data ON block_data.id = blocks.data_id
            WHERE host_id = ? AND resolution = ? AND start_ms <= ? AND end_ms >= ?
            """, arguments: [hostID, resolution.rawValue, high, low])
        for row in blocks {
            let data: Data = row[2]
            let block = try MetricsBlock(decoding: Array(data))
            for (index, ms) in block.timestamps.enumerated() {
                merged[ms] = (block.columnNames, block.columns.map { $0[index] })
            }
            try self.db.execute(sql: "DELETE FROM blocks WHERE host_id = ? AND resolution = ? AND start_ms = ?", arguments: [hostID, resolution.rawValue, row[0] as Int64])
            try self.db.execute(sql: "DELETE FROM block_data WHERE id = ?", arguments: [row[1] as Int64])
        }
        for row in rows where replacing || merged[row.ms] == nil {
            merged[row.ms] = (row.names, row.values)
        }
        var times = Array(merged.keys)
        times.sort()
        var runStart = 0
        while runStart < times.count {
            let names = merged[times[runStart]]!.names
            var runEnd = runStart + 1
            while runEnd < times.count, runEnd - runStart < self.blockRows[level], merged[times[runEnd]]!.names == names {
                runEnd += 1
            }
            let slice = times[runStart..<runEnd]
            var columns = [[Double]](repeating: [], count: names.count)
            for ms in slice {
                let values = merged[ms]!.values
                for column in columns.indices { columns[column].append(values[column]) }
            }
            try self.writeBlock(MetricsBlock(timestamps: Array(slice), columnNames: names, columns: columns), resolution, hostID: hostID)
            runStart = runEnd
        }
        host.levels[level].lastRowMs = max(host.levels[level].lastRowMs, high)
    }
}
