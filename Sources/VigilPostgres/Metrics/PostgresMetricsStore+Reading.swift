import NIOCore
import PostgresNIO
import VigilStore

extension PostgresMetricsStore {
    public func points(hostname: String, series: String, from: Double, to: Double, resolution: MetricResolution, limit: Int) async throws -> [SeriesPoint] {
        guard let range = MetricTime.range(from: from, to: to) else { return [] }
        // The open bucket is found before the stored rows are read: a bucket written in between
        // comes back from the table and the open one is dropped as a duplicate below.
        let bucket: OpenBucket? = resolution == .raw ? nil : try await self.openBucket(hostname: hostname, resolution: resolution)
        let wanted = resolution == .raw ? [series] : RollupStatistic.columnNames(of: series)
        var points = try await self.storedPoints(hostname: hostname, wanted: wanted, range: range, resolution: resolution, limit: limit)
        guard points.count <= limit, let bucket, range.contains(bucket.startMs) else { return points }
        let point: SeriesPoint?
        if let cached = bucket.cached {
            point = cached.point(series: series)
        } else {
            point = try await self.rolledUp(hostname: hostname, series: series, bucket: bucket)
        }
        if let point, points.last.map({ $0.timestamp < point.timestamp }) ?? true {
            points.append(point)
        }
        return points
    }

    /// A host's open bucket at a rollup level: its start, and this server's accumulator when its
    /// cache of the host is current.
    struct OpenBucket {
        var startMs: Int64
        var newestMs: Int64
        var cached: RollupAccumulator?
    }

    func openBucket(hostname: String, resolution: MetricResolution) async throws -> OpenBucket? {
        let rows = try await self.client.query(
            "SELECT version, newest_ms, minute_ms, hour_ms FROM metrics_hosts WHERE hostname = \(hostname)", logger: self.logger)
        for try await (version, newest, minute, hour) in rows.decode((Int64, Int64, Int64, Int64).self) {
            guard newest != .min else { return nil }
            let start = MetricTime.bucketStart(newest, resolution)
            guard start > (resolution == .hour ? hour : minute) else { return nil }
            let cached: RollupAccumulator?? = self.hosts.withLock { hosts in
                guard let state = hosts[hostname], state.version == version else { return nil }
                return .some(state.bucket(resolution))
            }
            if let cached {
                guard let bucket = cached, bucket.start == start else { return nil }
                return OpenBucket(startMs: start, newestMs: newest, cached: bucket)
            }
            return OpenBucket(startMs: start, newestMs: newest, cached: nil)
        }
        return nil
    }

    /// An open bucket's point computed from the raw rows (another server holds its accumulator).
    func rolledUp(hostname: String, series: String, bucket: OpenBucket) async throws -> SeriesPoint? {
        let raw = try await self.storedPoints(hostname: hostname, wanted: [series], range: bucket.startMs...bucket.newestMs, resolution: .raw, limit: .max)
        var accumulator = RollupAccumulator(start: bucket.startMs)
        for point in raw { accumulator.add(names: [series], values: [point.avg]) }
        return accumulator.point(series: series)
    }

    /// Points of one series from sealed blocks and head rows (not an open bucket), oldest first.
    /// Stops decoding blocks once more than `limit` points are collected.
    func storedPoints(hostname: String, wanted: [String], range: ClosedRange<Int64>, resolution: MetricResolution, limit: Int) async throws -> [SeriesPoint] {
        let blocks = MetricsTable(resolution: resolution, kind: .blocks).name
        let head = MetricsTable(resolution: resolution, kind: .head).name
        let from = range.lowerBound
        let to = range.upperBound
        // Blocks of a level never overlap: bounding `end_ms` from below uses the primary key and
        // prunes older partitions.
        let query = PostgresQuery(unsafeSQL: """
            SELECT 0::smallint, start_ms, shape, data FROM \(blocks) WHERE hostname = $1 AND end_ms >= $2 AND start_ms <= $3
            UNION ALL
            SELECT 1::smallint, ts_ms, shape, data FROM \(head) WHERE hostname = $1 AND ts_ms >= $2 AND ts_ms <= $3
            ORDER BY 2
            """, binds: try Self.binds(hostname, from, to))
        let wantedUTF8 = wanted.map { Array($0.utf8) }
        var points: [SeriesPoint] = []
        var headRows: [StoredHeadRow] = []
        let rows = try await self.client.query(query, logger: self.logger)
        for try await (kind, ms, shape, data) in rows.decode((Int16, Int64, Int64, ByteBuffer).self) {
            if kind == 1 {
                headRows.append(StoredHeadRow(hostname: hostname, ms: ms, shape: shape, data: data))
                continue
            }
            guard points.count <= limit else { continue }
            try data.withUnsafeReadableBytes { buffer in
                let reader = try MetricsBlockReader(buffer)
                let indices = try reader.columnIndices(of: wantedUTF8)
                guard indices.allSatisfy({ $0 != nil }) else { return }  // the series is not in this block
                let timestamps = try reader.timestamps()
                guard let first = timestamps.firstIndex(where: { $0 >= range.lowerBound }) else { return }
                let columns = try indices.map { index in try reader.values(ofColumn: index!) }
                var row = first
                while row < timestamps.count && timestamps[row] <= range.upperBound {
                    if let point = Self.point(at: timestamps[row], values: columns.map { $0[row] }) { points.append(point) }
                    row += 1
                }
            }
        }
        if points.count <= limit, !headRows.isEmpty {
            let names = try await self.shapes.names(of: Set(headRows.map(\.shape)), client: self.client, logger: self.logger)
            var indices: [Int64: [Int]?] = [:]
            for row in headRows {
                guard let columns = names[row.shape] else { continue }
                if indices[row.shape] == nil {
                    let found = wanted.map { columns.firstIndex(of: $0) }
                    indices[row.shape] = found.allSatisfy { $0 != nil } ? found.map { $0! } : nil
                }
                guard let slots = indices[row.shape] ?? nil else { continue }
                let values = try PostgresMetricsPlan.decode(row.data, columns: columns.count)
                if let point = Self.point(at: row.ms, values: slots.map { values[$0] }) { points.append(point) }
            }
        }
        if !zip(points, points.dropFirst()).allSatisfy({ $0.timestamp <= $1.timestamp }) {
            points.sort { $0.timestamp < $1.timestamp }  // rows left unsealed by an interrupted write
        }
        return points
    }

    static func binds(_ hostname: String, _ from: Int64, _ to: Int64) throws -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(hostname)
        binds.append(from)
        binds.append(to)
        return binds
    }

    /// A point from one value (raw) or five (rollup, in `RollupStatistic` order); nil for a bucket
    /// in which the series had no value.
    static func point(at ms: Int64, values: [Double]) -> SeriesPoint? {
        if values.count == 1 { return SeriesPoint(timestamp: MetricTime.seconds(ms), value: values[0]) }
        guard let count = Int(exactly: values[4]), count > 0 else { return nil }
        return SeriesPoint(timestamp: MetricTime.seconds(ms), min: values[0], max: values[1], avg: values[2], last: values[3], count: count)
    }

    /// The names of the host's raw blocks and head rows; a host whose raw data has all expired
    /// answers with the series of its newest rollup data (as ``SQLiteMetricsStore`` does).
    public func seriesNames(hostname: String) async throws -> [String] {
        var names = try await self.columnNames(hostname: hostname, resolution: .raw, newestBlockOnly: false)
        for resolution in MetricResolution.rollups where names.isEmpty {
            let columns = try await self.columnNames(hostname: hostname, resolution: resolution, newestBlockOnly: true)
            names = Set(columns.compactMap(RollupStatistic.seriesName(ofColumn:)))
        }
        return names.sorted()
    }

    func columnNames(hostname: String, resolution: MetricResolution, newestBlockOnly: Bool) async throws -> Set<String> {
        let blocks = MetricsTable(resolution: resolution, kind: .blocks).name
        let head = MetricsTable(resolution: resolution, kind: .head).name
        let blockShapes = newestBlockOnly
            ? "(SELECT shape FROM \(blocks) WHERE hostname = $1 ORDER BY end_ms DESC LIMIT 1)"
            : "SELECT DISTINCT shape FROM \(blocks) WHERE hostname = $1"
        var binds = PostgresBindings()
        binds.append(hostname)
        let rows = try await self.client.query(PostgresQuery(unsafeSQL: "\(blockShapes) UNION SELECT DISTINCT shape FROM \(head) WHERE hostname = $1", binds: binds),
                                               logger: self.logger)
        var ids: Set<Int64> = []
        for try await id in rows.decode(Int64.self) { ids.insert(id) }
        let names = try await self.shapes.names(of: ids, client: self.client, logger: self.logger)
        return Set(names.values.joined())
    }

    /// Sealed blocks and head rows counted in SQL; `fileBytes` is what the metrics tables and their
    /// indexes occupy on the server (`pg_total_relation_size` of every partition).
    public func statistics() async throws -> MetricsStorageStatistics {
        var statistics = MetricsStorageStatistics()
        var parts: [String] = []
        for resolution in MetricResolution.allCases {
            let blocks = MetricsTable(resolution: resolution, kind: .blocks).name
            let head = MetricsTable(resolution: resolution, kind: .head).name
            parts.append("SELECT \(resolution.rawValue), count(*), COALESCE(sum(rows::bigint * columns), 0)::bigint, COALESCE(sum(length(data)), 0)::bigint FROM \(blocks)")
            parts.append("SELECT \(resolution.rawValue), 0::bigint, COALESCE(sum(length(data) / 8), 0)::bigint, COALESCE(sum(length(data)), 0)::bigint FROM \(head)")
        }
        let rows = try await self.client.query(PostgresQuery(unsafeSQL: parts.joined(separator: " UNION ALL ")), logger: self.logger)
        for try await (resolutionNumber, blocks, values, bytes) in rows.decode((Int32, Int64, Int64, Int64).self) {
            guard let resolution = MetricResolution(rawValue: Int(resolutionNumber)) else { continue }
            statistics[resolution].blocks += blocks
            statistics[resolution].values += values
            statistics[resolution].bytes += bytes
        }
        let size = try await self.client.query("""
            SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
            WHERE c.relkind = 'r' AND c.relname LIKE 'metrics\\_%' AND pg_table_is_visible(c.oid)
            """, logger: self.logger)
        for try await bytes in size.decode(Int64.self) { statistics.fileBytes = bytes }
        return statistics
    }
}
