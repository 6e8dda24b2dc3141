import NIOCore
import PostgresNIO
import VigilStore

/// Restoring a metrics history as the SQLite store holds it (`vigil migrate`): sealed blocks keep
/// their payloads (one ``MetricsBlock`` format for both stores), the rows of open blocks become
/// head rows, and each host's newest times are set as a writer would have left them, so the next
/// append, the rollups and the reads carry on where SQLite stopped. Only for an empty history.
extension PostgresMetricsStore {
    /// Inserts sealed blocks of one host and level, their shapes and the partitions they need, in
    /// one statement.
    package func importBlocks(hostname: String, resolution: MetricResolution, _ blocks: [ExportedMetricsBlock]) async throws {
        guard !blocks.isEmpty else { return }
        var shapes: [Int64: [UInt8]] = [:]
        var blockShapes: [Int64] = []
        for block in blocks {
            let names = try block.data.withUnsafeBytes { buffer in try MetricsBlockReader(buffer).columnNames() }
            let (shape, encoded) = self.shapes.id(of: names)
            if !self.shapes.isStored(shape) { shapes[shape] = encoded }
            blockShapes.append(shape)
        }
        let span = self.options.partitionMilliseconds(resolution)
        try await self.ensure(Set(blocks.flatMap { Self.partitions(resolution, MetricsPartition.index(of: $0.endMs, span: span)) }))
        var binds = PostgresBindings()
        try binds.append(Array(shapes.keys))
        try binds.append(shapes.keys.map { shapes[$0]!.byteBuffer })
        try binds.append([String](repeating: hostname, count: blocks.count))
        try binds.append(blocks.map(\.startMs))
        try binds.append(blocks.map(\.endMs))
        try binds.append(blocks.map { Int32($0.rows) })
        try binds.append(blocks.map { Int32($0.columns) })
        try binds.append(blockShapes)
        try binds.append(blocks.map(\.data.byteBuffer))
        let table = MetricsTable(resolution: resolution, kind: .blocks).name
        try await self.client.query(PostgresQuery(unsafeSQL: """
            WITH shapes AS (
              INSERT INTO metrics_shapes(id, names) SELECT * FROM unnest($1::bigint[], $2::bytea[]) ON CONFLICT (id) DO NOTHING
            )
            INSERT INTO \(table)(hostname, start_ms, end_ms, rows, columns, shape, data)
            SELECT * FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::integer[], $7::integer[], $8::bigint[], $9::bytea[])
            """, binds: binds), logger: self.logger)
        self.shapes.markStored(shapes.keys)
    }

    /// Inserts the rows of one host's open block at a level as head rows, in one statement.
    package func importRows(hostname: String, resolution: MetricResolution, _ rows: [ExportedMetricsRow]) async throws {
        guard !rows.isEmpty else { return }
        var shapes: [Int64: [UInt8]] = [:]
        var rowShapes: [Int64] = []
        for row in rows {
            let (shape, encoded) = self.shapes.id(of: row.names)
            if !self.shapes.isStored(shape) { shapes[shape] = encoded }
            rowShapes.append(shape)
        }
        let span = self.options.partitionMilliseconds(resolution)
        try await self.ensure(Set(rows.flatMap { Self.partitions(resolution, MetricsPartition.index(of: $0.ms, span: span)) }))
        var binds = PostgresBindings()
        try binds.append(Array(shapes.keys))
        try binds.append(shapes.keys.map { shapes[$0]!.byteBuffer })
        try binds.append([String](repeating: hostname, count: rows.count))
        try binds.append(rows.map(\.ms))
        try binds.append(rowShapes)
        try binds.append(rows.map { PostgresMetricsPlan.encode($0.values) })
        let table = MetricsTable(resolution: resolution, kind: .head).name
        try await self.client.query(PostgresQuery(unsafeSQL: """
            WITH shapes AS (
              INSERT INTO metrics_shapes(id, names) SELECT * FROM unnest($1::bigint[], $2::bytea[]) ON CONFLICT (id) DO NOTHING
            )
            INSERT INTO \(table)(hostname, ts_ms, shape, data)
            SELECT * FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::bytea[])
            """, binds: binds), logger: self.logger)
        self.shapes.markStored(shapes.keys)
    }

    /// Records a host's newest raw sample and newest minute and hour rows (`Int64.min` when it has
    /// none), as its last writer would have left them, after its rows are in.
    package func importHost(hostname: String, newestMs: Int64, minuteMs: Int64, hourMs: Int64) async throws {
        try await self.client.query("""
            INSERT INTO metrics_hosts(hostname, version, newest_ms, minute_ms, hour_ms) VALUES (\(hostname), 1, \(newestMs), \(minuteMs), \(hourMs))
            """, logger: self.logger)
    }

    /// Recomputes closed rollup buckets from the raw rows now in PostgreSQL (those SQLite had not
    /// recomputed yet after a back-fill), replacing their stored rows.
    package func recomputeImported(_ buckets: [ExportedDirtyBucket]) async throws {
        guard !buckets.isEmpty else { return }
        let hostnames = Array(Set(buckets.map(\.hostname))).sorted()
        var states = try await self.loadHosts(hostnames)
        let dirty = Set(buckets.map { PostgresMetricsPlan.DirtyBucket(hostname: $0.hostname, resolution: $0.resolution, startMs: $0.startMs) })
        try await self.recompute(dirty, states: &states)
    }

    /// Rows per host and level: rows of sealed blocks plus head rows.
    package func rowCounts() async throws -> [String: MetricsRowCounts] {
        var counts: [String: MetricsRowCounts] = [:]
        for resolution in MetricResolution.allCases {
            let blocks = MetricsTable(resolution: resolution, kind: .blocks).name
            let head = MetricsTable(resolution: resolution, kind: .head).name
            let rows = try await self.client.query(PostgresQuery(unsafeSQL: """
                SELECT hostname, sum(rows)::bigint FROM \(blocks) GROUP BY hostname
                UNION ALL SELECT hostname, count(*) FROM \(head) GROUP BY hostname
                """), logger: self.logger)
            for try await (hostname, count) in rows.decode((String, Int64).self) {
                counts[hostname, default: .init()].levels[resolution.level] += count
            }
        }
        return counts
    }
}
