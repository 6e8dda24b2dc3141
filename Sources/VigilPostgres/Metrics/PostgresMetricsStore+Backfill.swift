import NIOCore
import PostgresNIO
import VigilStore

extension PostgresMetricsStore {
    /// A (host, millisecond) of raw history.
    struct HostTime: Hashable {
        var hostname: String
        var ms: Int64
    }

    /// The raw samples already stored for these hosts within these spans (head rows, and the
    /// timestamps of blocks overlapping them; no values are decoded): what a back-fill must skip.
    func storedTimes(_ spans: [String: ClosedRange<Int64>]) async throws -> Set<HostTime> {
        guard !spans.isEmpty else { return [] }
        let hosts = Array(spans.keys)
        let froms = hosts.map { spans[$0]!.lowerBound }
        let tos = hosts.map { spans[$0]!.upperBound }
        var times: Set<HostTime> = []
        let head = try await self.client.query("""
            SELECT h.hostname, h.ts_ms FROM metrics_raw_head h
            JOIN unnest(\(hosts)::text[], \(froms)::bigint[], \(tos)::bigint[]) AS w(hostname, from_ms, to_ms)
              ON h.hostname = w.hostname AND h.ts_ms BETWEEN w.from_ms AND w.to_ms
            """, logger: self.logger)
        for try await (hostname, ms) in head.decode((String, Int64).self) { times.insert(HostTime(hostname: hostname, ms: ms)) }
        let blocks = try await self.client.query("""
            SELECT b.hostname, b.data FROM metrics_raw_blocks b
            JOIN unnest(\(hosts)::text[], \(froms)::bigint[], \(tos)::bigint[]) AS w(hostname, from_ms, to_ms)
              ON b.hostname = w.hostname AND b.end_ms >= w.from_ms AND b.start_ms <= w.to_ms
            """, logger: self.logger)
        for try await (hostname, data) in blocks.decode((String, ByteBuffer).self) {
            let timestamps = try data.withUnsafeReadableBytes { buffer in try MetricsBlockReader(buffer).timestamps() }
            for ms in timestamps { times.insert(HostTime(hostname: hostname, ms: ms)) }
        }
        return times
    }

    /// Rewrites closed rollup buckets that back-filled samples fell in: each one's figures are
    /// computed again from all its raw rows and stored as a head row at the bucket's start (the
    /// sealer puts it in a block later), replacing the row it had, in a head row or inside a
    /// sealed block (which is written again without it). One statement per host, claiming it.
    func recompute(_ dirty: Set<PostgresMetricsPlan.DirtyBucket>, states: inout [String: PostgresMetricsHostState]) async throws {
        let byHost = Dictionary(grouping: dirty, by: \.hostname)
        for (hostname, buckets) in byHost {
            guard var host = states[hostname] else { continue }
            var headRows: [(resolution: MetricResolution, ms: Int64, shape: Int64, names: [UInt8], data: ByteBuffer)] = []
            var removals: [(resolution: MetricResolution, endMs: Int64, replacement: MetricsSealer.Block?)] = []
            for bucket in buckets.sorted(by: { ($0.resolution.rawValue, $0.startMs) < ($1.resolution.rawValue, $1.startMs) }) {
                let end = bucket.startMs + MetricTime.bucketMilliseconds(bucket.resolution) - 1
                var accumulator = RollupAccumulator(start: bucket.startMs)
                for row in try await self.rawRows(hostname: hostname, range: bucket.startMs...end) {
                    accumulator.add(names: row.names, values: row.values)
                }
                guard !accumulator.isEmpty else { continue }
                let columns = host.rollupColumnNames(for: accumulator.names, shared: self.rollupColumnNames)
                let (shape, encoded) = self.shapes.id(of: columns)
                headRows.append((bucket.resolution, bucket.startMs, shape, encoded, PostgresMetricsPlan.encode(accumulator.rowValues())))
                host.levels[bucket.resolution.level].headRows += 1
                host.levels[bucket.resolution.level].lastRowMs = max(host.levels[bucket.resolution.level].lastRowMs, bucket.startMs)
                // A sealed block holding the bucket's old row is written again without it.
                let table = MetricsTable(resolution: bucket.resolution, kind: .blocks).name
                var binds = PostgresBindings()
                binds.append(hostname)
                binds.append(bucket.startMs)
                let rows = try await self.client.query(PostgresQuery(unsafeSQL: "SELECT end_ms, shape, data FROM \(table) WHERE hostname = $1 AND start_ms <= $2 AND end_ms >= $2", binds: binds),
                                                       logger: self.logger)
                for try await (endMs, blockShape, data) in rows.decode((Int64, Int64, ByteBuffer).self) {
                    let block = try MetricsBlock(decoding: Array(data.readableBytesView))
                    guard let index = block.timestamps.firstIndex(of: bucket.startMs) else { continue }
                    var kept = block
                    kept.timestamps.remove(at: index)
                    for column in kept.columns.indices { kept.columns[column].remove(at: index) }
                    var replacement: MetricsSealer.Block?
                    if let first = kept.timestamps.first, let last = kept.timestamps.last {
                        replacement = MetricsSealer.Block(startMs: first, endMs: last, rows: kept.timestamps.count, columns: kept.columnNames.count,
                                                          shape: blockShape, data: kept.encoded())
                    }
                    removals.append((bucket.resolution, endMs, replacement))
                }
            }
            guard !headRows.isEmpty else { continue }
            try await self.ensure(Set(headRows.flatMap { row in
                Self.partitions(row.resolution, MetricsPartition.index(of: row.ms, span: self.options.partitionMilliseconds(row.resolution)))
            }))
            try await self.client.withTransaction(logger: self.logger) { connection in
                let claimed = try await connection.query(
                    "UPDATE metrics_hosts SET version = version + 1 WHERE hostname = \(hostname) AND version = \(host.version) RETURNING hostname", logger: self.logger)
                var found = false
                for try await _ in claimed.decode(String.self) { found = true }
                guard found else {
                    throw PostgresMetricsConflict()
                }
                for row in headRows where !self.shapes.isStored(row.shape) {
                    try await connection.query("INSERT INTO metrics_shapes(id, names) VALUES (\(row.shape), \(row.names.byteBuffer)) ON CONFLICT (id) DO NOTHING", logger: self.logger)
                }
                for removal in removals {
                    let table = MetricsTable(resolution: removal.resolution, kind: .blocks).name
                    var binds = PostgresBindings()
                    binds.append(hostname)
                    binds.append(removal.endMs)
                    try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE hostname = $1 AND end_ms = $2", binds: binds), logger: self.logger)
                    if let block = removal.replacement {
                        var insert = PostgresBindings()
                        insert.append(hostname)
                        insert.append(block.startMs)
                        insert.append(block.endMs)
                        insert.append(Int32(block.rows))
                        insert.append(Int32(block.columns))
                        insert.append(block.shape)
                        insert.append(block.data.byteBuffer)
                        try await connection.query(PostgresQuery(unsafeSQL: "INSERT INTO \(table)(hostname, start_ms, end_ms, rows, columns, shape, data) VALUES ($1, $2, $3, $4, $5, $6, $7)", binds: insert),
                                                   logger: self.logger)
                    }
                }
                for row in headRows {
                    let table = MetricsTable(resolution: row.resolution, kind: .head).name
                    var binds = PostgresBindings()
                    binds.append(hostname)
                    binds.append(row.ms)
                    binds.append(row.shape)
                    binds.append(row.data)
                    try await connection.query(PostgresQuery(unsafeSQL: """
                        INSERT INTO \(table)(hostname, ts_ms, shape, data) VALUES ($1, $2, $3, $4)
                        ON CONFLICT (hostname, ts_ms) DO UPDATE SET shape = excluded.shape, data = excluded.data
                        """, binds: binds), logger: self.logger)
                }
                try await connection.query("""
                    UPDATE metrics_hosts SET minute_ms = GREATEST(minute_ms, \(host.levels[1].lastRowMs)), hour_ms = GREATEST(hour_ms, \(host.levels[2].lastRowMs))
                    WHERE hostname = \(hostname)
                    """, logger: self.logger)
            }
            self.shapes.markStored(headRows.map(\.shape))
            host.version += 1
            states[hostname] = host
            self.publish([hostname: host])
        }
    }

    /// Every raw row of a host within `range` with all its columns, oldest first.
    func rawRows(hostname: String, range: ClosedRange<Int64>) async throws -> [(ms: Int64, names: [String], values: [Double])] {
        var rows: [(ms: Int64, names: [String], values: [Double])] = []
        var binds = PostgresBindings()
        binds.append(hostname)
        binds.append(range.lowerBound)
        binds.append(range.upperBound)
        let result = try await self.client.query(PostgresQuery(unsafeSQL: """
            SELECT 0::smallint, start_ms, shape, data FROM metrics_raw_blocks WHERE hostname = $1 AND end_ms >= $2 AND start_ms <= $3
            UNION ALL
            SELECT 1::smallint, ts_ms, shape, data FROM metrics_raw_head WHERE hostname = $1 AND ts_ms >= $2 AND ts_ms <= $3
            """, binds: binds), logger: self.logger)
        var head: [StoredHeadRow] = []
        for try await (kind, ms, shape, data) in result.decode((Int16, Int64, Int64, ByteBuffer).self) {
            if kind == 1 {
                head.append(StoredHeadRow(hostname: hostname, ms: ms, shape: shape, data: data))
                continue
            }
            let block = try MetricsBlock(decoding: Array(data.readableBytesView))
            for (index, ms) in block.timestamps.enumerated() where range.contains(ms) {
                rows.append((ms, block.columnNames, block.columns.map { $0[index] }))
            }
        }
        let names = try await self.shapes.names(of: Set(head.map(\.shape)), client: self.client, logger: self.logger)
        for row in head {
            guard let columns = names[row.shape] else { continue }
            rows.append((row.ms, columns, try PostgresMetricsPlan.decode(row.data, columns: columns.count)))
        }
        rows.sort { $0.ms < $1.ms }
        return rows
    }
}

/// Another writer changed a host between this store's read and its write (retried like VG001).
struct PostgresMetricsConflict: Error {}
