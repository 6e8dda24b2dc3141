import NIOCore
import PostgresNIO
import VigilStore

extension PostgresMetricsStore {
    /// A head row read back for sealing, before its shape's names are known.
    struct StoredHeadRow {
        var hostname: String
        var ms: Int64
        var shape: Int64
        var data: ByteBuffer
    }

    /// Runs a plan as one statement: claims every host of `states` at the version it was planned
    /// from (the statement fails, writing nothing, when one is not), stores new shapes and head
    /// rows, and returns the head rows already stored of the (host, level)s to seal.
    func execute(_ plan: PostgresMetricsPlan, states: [String: PostgresMetricsHostState]) async throws -> [[String: [StoredHeadRow]]] {
        let hostnames = states.keys.sorted()  // one lock order for every writer
        let expected = hostnames.map { states[$0]!.version }
        let newest = hostnames.map { states[$0]!.newestRawMs }
        let minute = hostnames.map { states[$0]!.levels[MetricResolution.minute.level].lastRowMs }
        let hour = hostnames.map { states[$0]!.levels[MetricResolution.hour.level].lastRowMs }
        let shapeIDs = Array(plan.newShapes.keys)
        let shapeNames = shapeIDs.map { plan.newShapes[$0]!.byteBuffer }
        let rows = plan.rows.map { rows in
            (hosts: rows.map(\.hostname), ms: rows.map(\.ms), shapes: rows.map(\.shape), data: rows.map { PostgresMetricsPlan.encode($0.values) })
        }
        let sealing = plan.sealing.map { Array($0) }
        let wanted = Int64(hostnames.count)
        let query: PostgresQuery = """
            WITH claim AS (
              SELECT * FROM unnest(\(hostnames)::text[], \(expected)::bigint[], \(newest)::bigint[], \(minute)::bigint[], \(hour)::bigint[])
                AS c(hostname, expected, newest_ms, minute_ms, hour_ms)
            ), updated AS (
              UPDATE metrics_hosts m SET version = m.version + 1, newest_ms = c.newest_ms, minute_ms = c.minute_ms, hour_ms = c.hour_ms
              FROM claim c WHERE m.hostname = c.hostname AND c.expected > 0 AND m.version = c.expected
              RETURNING m.hostname
            ), created AS (
              INSERT INTO metrics_hosts(hostname, version, newest_ms, minute_ms, hour_ms)
              SELECT hostname, 1, newest_ms, minute_ms, hour_ms FROM claim WHERE expected = 0
              ON CONFLICT (hostname) DO NOTHING RETURNING hostname
            ), shapes AS (
              INSERT INTO metrics_shapes(id, names) SELECT * FROM unnest(\(shapeIDs)::bigint[], \(shapeNames)::bytea[])
              ON CONFLICT (id) DO NOTHING
            ), raw AS (
              INSERT INTO metrics_raw_head(hostname, ts_ms, shape, data)
              SELECT * FROM unnest(\(rows[0].hosts)::text[], \(rows[0].ms)::bigint[], \(rows[0].shapes)::bigint[], \(rows[0].data)::bytea[])
              ON CONFLICT DO NOTHING
            ), minute AS (
              INSERT INTO metrics_minute_head(hostname, ts_ms, shape, data)
              SELECT * FROM unnest(\(rows[1].hosts)::text[], \(rows[1].ms)::bigint[], \(rows[1].shapes)::bigint[], \(rows[1].data)::bytea[])
              ON CONFLICT DO NOTHING
            ), hour AS (
              INSERT INTO metrics_hour_head(hostname, ts_ms, shape, data)
              SELECT * FROM unnest(\(rows[2].hosts)::text[], \(rows[2].ms)::bigint[], \(rows[2].shapes)::bigint[], \(rows[2].data)::bytea[])
              ON CONFLICT DO NOTHING
            ), checked AS (
              SELECT vigil_metrics_claimed((SELECT count(*) FROM updated) + (SELECT count(*) FROM created), \(wanted)) AS ok
            )
            SELECT sealing.level, sealing.hostname, sealing.ts_ms, sealing.shape, sealing.data FROM checked LEFT JOIN LATERAL (
              SELECT 0::smallint AS level, hostname, ts_ms, shape, data FROM metrics_raw_head WHERE hostname = ANY(\(sealing[0])::text[])
              UNION ALL SELECT 1::smallint, hostname, ts_ms, shape, data FROM metrics_minute_head WHERE hostname = ANY(\(sealing[1])::text[])
              UNION ALL SELECT 2::smallint, hostname, ts_ms, shape, data FROM metrics_hour_head WHERE hostname = ANY(\(sealing[2])::text[])
            ) sealing ON checked.ok
            """
        var stored: [[String: [StoredHeadRow]]] = [[:], [:], [:]]
        let result = try await self.client.query(query, logger: self.logger)
        for try await (level, hostname, ms, shape, data) in result.decode((Int16?, String?, Int64?, Int64?, ByteBuffer?).self) {
            guard let level, let hostname, let ms, let shape, let data, (0...2).contains(level) else { continue }
            stored[Int(level)][hostname, default: []].append(StoredHeadRow(hostname: hostname, ms: ms, shape: shape, data: data))
        }
        return stored
    }

    /// Seals the (host, level)s a written plan filled: their stored head rows and the plan's new
    /// ones are cut into blocks (``MetricsSealer``), written, and their head rows deleted, in one
    /// statement that claims the hosts at the versions just written.
    func seal(_ plan: PostgresMetricsPlan, old: [[String: [StoredHeadRow]]], states: inout [String: PostgresMetricsHostState]) async throws {
        var shapeIDs: Set<Int64> = []
        for level in old { for rows in level.values { for row in rows { shapeIDs.insert(row.shape) } } }
        for (level, rows) in plan.rows.enumerated() { for row in rows where plan.sealing[level].contains(row.hostname) { shapeIDs.insert(row.shape) } }
        let names = try await self.shapes.names(of: shapeIDs, client: self.client, logger: self.logger)

        var blocks: [[(hostname: String, block: MetricsSealer.Block)]] = [[], [], []]
        var sealed: Set<String> = []
        for resolution in MetricResolution.allCases {
            let level = resolution.level
            var byHost: [String: [MetricsSealer.Row]] = [:]
            for (hostname, rows) in old[level] where plan.sealing[level].contains(hostname) {
                for row in rows {
                    guard let columns = names[row.shape]?.count else { continue }
                    byHost[hostname, default: []].append(.init(ms: row.ms, shape: row.shape, values: try PostgresMetricsPlan.decode(row.data, columns: columns)))
                }
            }
            for row in plan.rows[level] where plan.sealing[level].contains(row.hostname) {
                byHost[row.hostname, default: []].append(.init(ms: row.ms, shape: row.shape, values: row.values))
            }
            for (hostname, var rows) in byHost {
                rows.sort { $0.ms < $1.ms }
                let cut = try MetricsSealer.seal(rows, names: names, blockRows: self.options.blockRows[level])
                states[hostname]!.levels[level].headRows = cut.openRows
                states[hostname]!.levels[level].openRows = cut.openRows
                guard !cut.blocks.isEmpty else { continue }
                blocks[level] += cut.blocks.map { (hostname, $0) }
                sealed.insert(hostname)
            }
        }
        // Hosts with nothing to seal after all (their cached counts were stale) keep their
        // corrected counts at the same version.
        self.publish(states.filter { hostname, _ in !sealed.contains(hostname) && plan.sealing.contains { $0.contains(hostname) } })
        guard !sealed.isEmpty else { return }
        let hostnames = sealed.sorted()
        let expected = hostnames.map { states[$0]!.version }
        let columns = blocks.map { blocks in
            (hosts: blocks.map(\.hostname), start: blocks.map(\.block.startMs), end: blocks.map(\.block.endMs),
             rows: blocks.map { Int32($0.block.rows) }, columns: blocks.map { Int32($0.block.columns) },
             shapes: blocks.map(\.block.shape), data: blocks.map { $0.block.data.byteBuffer })
        }
        let c = columns
        let query: PostgresQuery = """
            WITH claim AS (
              SELECT * FROM unnest(\(hostnames)::text[], \(expected)::bigint[]) AS c(hostname, expected)
            ), updated AS (
              UPDATE metrics_hosts m SET version = m.version + 1 FROM claim c
              WHERE m.hostname = c.hostname AND m.version = c.expected RETURNING m.hostname
            ), checked AS (
              SELECT vigil_metrics_claimed((SELECT count(*) FROM updated), \(Int64(hostnames.count))) AS ok
            ), raw AS (
              INSERT INTO metrics_raw_blocks(hostname, start_ms, end_ms, rows, columns, shape, data)
              SELECT * FROM unnest(\(c[0].hosts)::text[], \(c[0].start)::bigint[], \(c[0].end)::bigint[], \(c[0].rows)::integer[],
                                   \(c[0].columns)::integer[], \(c[0].shapes)::bigint[], \(c[0].data)::bytea[])
            ), raw_sealed AS (
              DELETE FROM metrics_raw_head h USING unnest(\(c[0].hosts)::text[], \(c[0].start)::bigint[], \(c[0].end)::bigint[]) AS b(hostname, start_ms, end_ms)
              WHERE h.hostname = b.hostname AND h.ts_ms BETWEEN b.start_ms AND b.end_ms
            ), minute AS (
              INSERT INTO metrics_minute_blocks(hostname, start_ms, end_ms, rows, columns, shape, data)
              SELECT * FROM unnest(\(c[1].hosts)::text[], \(c[1].start)::bigint[], \(c[1].end)::bigint[], \(c[1].rows)::integer[],
                                   \(c[1].columns)::integer[], \(c[1].shapes)::bigint[], \(c[1].data)::bytea[])
            ), minute_sealed AS (
              DELETE FROM metrics_minute_head h USING unnest(\(c[1].hosts)::text[], \(c[1].start)::bigint[], \(c[1].end)::bigint[]) AS b(hostname, start_ms, end_ms)
              WHERE h.hostname = b.hostname AND h.ts_ms BETWEEN b.start_ms AND b.end_ms
            ), hour AS (
              INSERT INTO metrics_hour_blocks(hostname, start_ms, end_ms, rows, columns, shape, data)
              SELECT * FROM unnest(\(c[2].hosts)::text[], \(c[2].start)::bigint[], \(c[2].end)::bigint[], \(c[2].rows)::integer[],
                                   \(c[2].columns)::integer[], \(c[2].shapes)::bigint[], \(c[2].data)::bytea[])
            ), hour_sealed AS (
              DELETE FROM metrics_hour_head h USING unnest(\(c[2].hosts)::text[], \(c[2].start)::bigint[], \(c[2].end)::bigint[]) AS b(hostname, start_ms, end_ms)
              WHERE h.hostname = b.hostname AND h.ts_ms BETWEEN b.start_ms AND b.end_ms
            )
            SELECT ok FROM checked
            """
        try await self.client.query(query, logger: self.logger)
        for hostname in hostnames { states[hostname]!.version += 1 }
        self.publish(states.filter { sealed.contains($0.key) })
    }
}
