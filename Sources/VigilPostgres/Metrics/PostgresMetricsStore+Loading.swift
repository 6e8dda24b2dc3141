import NIOCore
import PostgresNIO
import VigilStore

extension PostgresMetricsStore {
    /// Reads hosts' states from the database: version and newest times, each level's head rows
    /// (counted into runs as ``PostgresMetricsPlan/appendRow`` counts them), and the open minute
    /// and hour buckets rebuilt from the raw rows of the current minute and hour.
    ///
    /// The version is read first: whatever another writer commits after it changes the version,
    /// and the write planned from this load then fails its claim and loads again. So the reads
    /// need no common snapshot.
    func loadHosts(_ hostnames: [String]) async throws -> [String: PostgresMetricsHostState] {
        var states: [String: PostgresMetricsHostState] = [:]
        for hostname in hostnames { states[hostname] = .init() }
        let hostRows = try await self.client.query(
            "SELECT hostname, version, newest_ms, minute_ms, hour_ms FROM metrics_hosts WHERE hostname = ANY(\(hostnames))", logger: self.logger)
        for try await (hostname, version, newest, minute, hour) in hostRows.decode((String, Int64, Int64, Int64, Int64).self) {
            states[hostname]!.version = version
            states[hostname]!.newestRawMs = newest
            states[hostname]!.levels[0].lastRowMs = newest
            states[hostname]!.levels[1].lastRowMs = minute
            states[hostname]!.levels[2].lastRowMs = hour
        }

        let head = try await self.client.query("""
            SELECT 0::smallint, hostname, ts_ms, shape FROM metrics_raw_head WHERE hostname = ANY(\(hostnames))
            UNION ALL SELECT 1::smallint, hostname, ts_ms, shape FROM metrics_minute_head WHERE hostname = ANY(\(hostnames))
            UNION ALL SELECT 2::smallint, hostname, ts_ms, shape FROM metrics_hour_head WHERE hostname = ANY(\(hostnames))
            ORDER BY 1, 2, 3
            """, logger: self.logger)
        var shapeIDs: Set<Int64> = []
        for try await (levelNumber, hostname, ms, shape) in head.decode((Int16, String, Int64, Int64).self) {
            let level = Int(levelNumber)
            guard (0...2).contains(level), states[hostname] != nil else { continue }
            var state = states[hostname]!.levels[level]
            if state.openShape != shape { state.openRows = 0 }
            state.openShape = shape
            state.headRows += 1
            state.openRows += 1
            if state.openRows >= self.options.blockRows[level] { state.openRows = 0 }
            state.lastRowMs = max(state.lastRowMs, ms)
            states[hostname]!.levels[level] = state
            shapeIDs.insert(shape)
        }
        let names = try await self.shapes.names(of: shapeIDs, client: self.client, logger: self.logger)
        for hostname in hostnames {
            for level in 0..<3 {
                if let shape = states[hostname]!.levels[level].openShape { states[hostname]!.levels[level].openColumns = names[shape] ?? [] }
            }
        }
        try await self.rebuildBuckets(&states)
        return states
    }

    /// Refills each host's open buckets (those of the bucket holding its newest raw sample, unless
    /// already written) from its raw blocks and head rows since the earliest bucket start.
    func rebuildBuckets(_ states: inout [String: PostgresMetricsHostState]) async throws {
        var hosts: [String] = []
        var froms: [Int64] = []
        for (hostname, state) in states where state.newestRawMs != .min {
            var host = state
            var from = Int64.max
            for resolution in MetricResolution.rollups {
                let start = MetricTime.bucketStart(host.newestRawMs, resolution)
                guard start > host.levels[resolution.level].lastRowMs else { continue }
                host.setBucket(RollupAccumulator(start: start), resolution)
                from = min(from, start)
            }
            states[hostname] = host
            if from != .max {
                hosts.append(hostname)
                froms.append(from)
            }
        }
        guard !hosts.isEmpty else { return }
        func add(_ hostname: String, _ ms: Int64, _ names: [String], _ values: [Double]) {
            guard var host = states.removeValue(forKey: hostname) else { return }
            defer { states[hostname] = host }
            guard ms <= host.newestRawMs else { return }
            for resolution in MetricResolution.rollups {
                guard var bucket = host.bucket(resolution), ms >= bucket.start else { continue }
                host.setBucket(nil, resolution)  // keep the accumulator uniquely referenced while it grows
                bucket.add(names: names, values: values)
                host.setBucket(bucket, resolution)
            }
        }
        // Blocks first, then head rows: a host's head rows are newer than its blocks.
        let blocks = try await self.client.query("""
            SELECT b.hostname, b.data FROM metrics_raw_blocks b
            JOIN unnest(\(hosts)::text[], \(froms)::bigint[]) AS w(hostname, from_ms) ON b.hostname = w.hostname AND b.end_ms >= w.from_ms
            ORDER BY b.hostname, b.end_ms
            """, logger: self.logger)
        for try await (hostname, data) in blocks.decode((String, ByteBuffer).self) {
            let block = try MetricsBlock(decoding: Array(data.readableBytesView))
            var values = [Double](repeating: 0, count: block.columns.count)
            for (row, ms) in block.timestamps.enumerated() {
                for column in block.columns.indices { values[column] = block.columns[column][row] }
                add(hostname, ms, block.columnNames, values)
            }
        }
        let head = try await self.client.query("""
            SELECT h.hostname, h.ts_ms, h.shape, h.data FROM metrics_raw_head h
            JOIN unnest(\(hosts)::text[], \(froms)::bigint[]) AS w(hostname, from_ms) ON h.hostname = w.hostname AND h.ts_ms >= w.from_ms
            ORDER BY h.hostname, h.ts_ms
            """, logger: self.logger)
        var rows: [StoredHeadRow] = []
        for try await (hostname, ms, shape, data) in head.decode((String, Int64, Int64, ByteBuffer).self) {
            rows.append(StoredHeadRow(hostname: hostname, ms: ms, shape: shape, data: data))
        }
        let names = try await self.shapes.names(of: Set(rows.map(\.shape)), client: self.client, logger: self.logger)
        for row in rows {
            guard let columns = names[row.shape] else { continue }
            add(row.hostname, row.ms, columns, try PostgresMetricsPlan.decode(row.data, columns: columns.count))
        }
    }
}
