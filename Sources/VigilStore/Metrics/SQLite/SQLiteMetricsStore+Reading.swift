import Foundation
import GRDB

extension SQLiteMetricsStore {
    /// Sealed blocks of one host and level overlapping `[:from, :to]`, oldest first.
    ///
    /// Blocks of a level never overlap, so the first one that can reach `:from` is the last one
    /// starting at or before it; bounding `start_ms` from below by it keeps the query a primary-key
    /// range instead of a scan of all the host's older blocks.
    static let overlappingBlocksSQL = """
        SELECT start_ms, data FROM blocks JOIN block_data ON block_data.id = blocks.data_id
        WHERE host_id = :host AND resolution = :resolution
          AND start_ms >= COALESCE(
            (SELECT MAX(start_ms) FROM blocks WHERE host_id = :host AND resolution = :resolution AND start_ms <= :from), :from)
          AND start_ms <= :to AND end_ms >= :from
        ORDER BY start_ms
        """

    public func points(hostname: String, series: String, from: Double, to: Double, resolution: MetricResolution, limit: Int) async throws -> [SeriesPoint] {
        guard let range = MetricTime.range(from: from, to: to) else { return [] }
        // Read memory before the database. A writer publishes memory only after its commit, so the
        // database read sees at least what this copy describes: a bucket closed in between comes
        // back from the database and the copy is dropped as a duplicate, and head rows sealed in
        // between are skipped in favour of their block (see `storedPoints`).
        let (open, bucket): (OpenBlock?, SeriesPoint?) = self.state.withLock { state in
            guard let host = state.hostIDs[hostname].flatMap({ state.hosts[$0] }) else { return (nil, nil) }
            return (host.levels[resolution.level].open, resolution == .raw ? nil : host.bucket(resolution)?.point(series: series))
        }
        var points = try await self.pool.read { db -> [SeriesPoint] in
            guard let hostID = try Int64.fetchOne(db, sql: "SELECT id FROM hosts WHERE hostname = ?", arguments: [hostname]) else { return [] }
            return try Self.storedPoints(db, hostID: hostID, series: series, range: range, resolution: resolution, open: open, limit: limit)
        }
        if let bucket, let bucketMs = MetricTime.milliseconds(bucket.timestamp), range.contains(bucketMs),
           points.last.map({ $0.timestamp < bucket.timestamp }) ?? true {
            points.append(bucket)
        }
        return points
    }

    /// Points of one series from sealed blocks and the open block's head rows (not the in-memory bucket).
    /// Stops decoding blocks once more than `limit` points are collected (the caller refuses such
    /// an answer, so a huge range costs no more than the limit).
    static func storedPoints(_ db: Database, hostID: Int64, series: String, range: ClosedRange<Int64>, resolution: MetricResolution, open: OpenBlock?, limit: Int = .max) throws -> [SeriesPoint] {
        let wanted: [String] = resolution == .raw ? [series] : RollupStatistic.columnNames(of: series)
        let wantedUTF8 = wanted.map { Array($0.utf8) }
        var points: [SeriesPoint] = []

        let blocks = try Row.fetchCursor(db.cachedStatement(sql: Self.overlappingBlocksSQL), arguments: [
            "host": hostID, "resolution": resolution.rawValue, "from": range.lowerBound, "to": range.upperBound,
        ])
        while points.count <= limit, let row = try blocks.next() {
            try row.withUnsafeData(atIndex: 1) { data in
                guard let data else { return }
                try data.withUnsafeBytes { buffer in
                    let reader = try MetricsBlockReader(buffer)
                    let indices = try reader.columnIndices(of: wantedUTF8)
                    guard indices.allSatisfy({ $0 != nil }) else { return }  // the series is not in this block
                    let timestamps = try reader.timestamps()
                    guard let first = timestamps.firstIndex(where: { $0 >= range.lowerBound }) else { return }
                    let columns = try indices.map { index in try reader.values(ofColumn: index!) }
                    var row = first
                    while row < timestamps.count && timestamps[row] <= range.upperBound {
                        if let point = Self.point(at: timestamps[row], row: row, columns: columns) { points.append(point) }
                        row += 1
                    }
                }
            }
        }

        guard points.count <= limit, let open, open.startMs <= range.upperBound, open.seqs.count > 0 else { return points }
        let found = wanted.map { open.columns.firstIndex(of: $0) }
        guard found.allSatisfy({ $0 != nil }) else { return points }
        let indices = found.map { $0! }
        // Rows sealed since the copy of `open` was taken are already in a block.
        let sealedThrough = try Int64.fetchOne(db.cachedStatement(sql: "SELECT end_ms FROM blocks WHERE host_id = ? AND resolution = ? ORDER BY start_ms DESC LIMIT 1"),
                                               arguments: [hostID, resolution.rawValue]) ?? .min
        let select = try db.cachedStatement(sql: "SELECT ts_ms, data FROM \(Self.headTable(resolution)) WHERE seq = ?")
        var values = [Double](repeating: 0, count: indices.count)
        for seq in open.seqs {
            guard let row = try Row.fetchOne(select, arguments: [seq]) else { continue }  // deleted by retention
            let ms: Int64 = row[0]
            guard ms > sealedThrough, range.contains(ms) else { continue }
            try row.withUnsafeData(atIndex: 1) { data in
                guard let data else { throw MetricsCodecError.corrupt("head row \(seq) without data") }
                try data.withUnsafeBytes { buffer in
                    _ = try HeadRow.checkedCount(of: buffer, columns: open.columns.count)
                    for (slot, column) in indices.enumerated() { values[slot] = HeadRow.value(at: column, in: buffer) }
                }
            }
            if let point = Self.point(at: ms, values: values) { points.append(point) }
        }
        return points
    }

    /// A point from decoded columns: one (raw) or five (rollup, in `RollupStatistic` order).
    @inline(__always)
    static func point(at ms: Int64, row: Int, columns: [[Double]]) -> SeriesPoint? {
        if columns.count == 1 { return SeriesPoint(timestamp: MetricTime.seconds(ms), value: columns[0][row]) }
        return self.rollupPoint(at: ms, min: columns[0][row], max: columns[1][row], avg: columns[2][row], last: columns[3][row], count: columns[4][row])
    }

    @inline(__always)
    static func point(at ms: Int64, values: [Double]) -> SeriesPoint? {
        if values.count == 1 { return SeriesPoint(timestamp: MetricTime.seconds(ms), value: values[0]) }
        return self.rollupPoint(at: ms, min: values[0], max: values[1], avg: values[2], last: values[3], count: values[4])
    }

    /// A rollup point, or nil for a bucket in which the series had no value (count 0).
    static func rollupPoint(at ms: Int64, min: Double, max: Double, avg: Double, last: Double, count: Double) -> SeriesPoint? {
        guard let count = Int(exactly: count), count > 0 else { return nil }
        return SeriesPoint(timestamp: MetricTime.seconds(ms), min: min, max: max, avg: avg, last: last, count: count)
    }

    /// The names of the host's raw blocks and open raw block (raw retention bounds how far back
    /// that goes). A host whose raw data has all expired answers with the series of its newest
    /// rollup data instead, so its minute and hour history stays discoverable.
    public func seriesNames(hostname: String) async throws -> [String] {
        let open: [[String]] = self.state.withLock { state in
            guard let host = state.hostIDs[hostname].flatMap({ state.hosts[$0] }) else { return [[], [], []] }
            return host.levels.map { $0.open?.columns ?? [] }
        }
        return try await self.pool.read { db in
            guard let hostID = try Int64.fetchOne(db, sql: "SELECT id FROM hosts WHERE hostname = ?", arguments: [hostname]) else { return [] }
            var names = Set(open[MetricResolution.raw.level])
            try Self.collectNames(db, hostID: hostID, resolution: .raw, newestBlockOnly: false, into: &names)
            for resolution in MetricResolution.rollups where names.isEmpty {
                var columns = Set(open[resolution.level])
                try Self.collectNames(db, hostID: hostID, resolution: resolution, newestBlockOnly: true, into: &columns)
                names = Set(columns.compactMap(RollupStatistic.seriesName(ofColumn:)))
            }
            return names.sorted()
        }
    }

    /// Adds the column names of a host's sealed blocks at one level (or of its newest one).
    static func collectNames(_ db: Database, hostID: Int64, resolution: MetricResolution, newestBlockOnly: Bool, into names: inout Set<String>) throws {
        let sql = newestBlockOnly
            ? "SELECT data FROM blocks JOIN block_data ON block_data.id = data_id WHERE host_id = ? AND resolution = ? ORDER BY start_ms DESC LIMIT 1"
            : "SELECT data FROM blocks JOIN block_data ON block_data.id = data_id WHERE host_id = ? AND resolution = ? ORDER BY start_ms"
        let blocks = try Row.fetchCursor(db, sql: sql, arguments: [hostID, resolution.rawValue])
        var previousRegion: [UInt8] = []
        while let row = try blocks.next() {
            try row.withUnsafeData(atIndex: 0) { data in
                guard let data else { return }
                try data.withUnsafeBytes { buffer in
                    let reader = try MetricsBlockReader(buffer)
                    // Consecutive blocks nearly always have the same columns: compare the names
                    // region bytes before building any string.
                    guard !reader.namesRegion.elementsEqual(previousRegion) else { return }
                    previousRegion = Array(reader.namesRegion)
                    names.formUnion(try reader.columnNames())
                }
            }
        }
    }

    /// Sealed blocks are counted in SQL over `blocks` (small rows, payloads not read); open blocks
    /// from the in-memory state, which mirrors `head` exactly, so the large head table is not scanned.
    public func statistics() async throws -> MetricsStorageStatistics {
        // On the writer's queue, not a reader: a writer publishes its in-memory state just after
        // its commit, and a reader between the two would count a sealed block both in `blocks` and
        // as the open block it was (seen: 161 samples counted twice at the end of a benchmark).
        var statistics = try await self.pool.writeWithoutTransaction { db in
            var statistics = MetricsStorageStatistics()
            let blocks = try Row.fetchAll(db, sql: "SELECT resolution, COUNT(*), SUM(rows * columns), SUM(bytes) FROM blocks GROUP BY resolution")
            for row in blocks {
                guard let resolution = MetricResolution(rawValue: row[0]) else { continue }
                statistics[resolution].blocks += row[1]
                statistics[resolution].values += row[2]
                statistics[resolution].bytes += row[3]
            }
            self.state.withLock { state in
                for host in state.hosts.values {
                    for resolution in MetricResolution.allCases {
                        guard let open = host.levels[resolution.level].open else { continue }
                        let values = Int64(open.rows * open.columns.count)
                        statistics[resolution].values += values
                        statistics[resolution].bytes += values * 8 + Int64(open.namesBytes)
                    }
                }
            }
            return statistics
        }
        statistics.fileBytes = [self.url.path, self.url.path + "-wal"].reduce(0) { total, path in
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
            return total + (size ?? 0)
        }
        return statistics
    }
}
