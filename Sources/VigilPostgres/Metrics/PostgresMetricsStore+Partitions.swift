import PostgresNIO
import VigilStore

extension PostgresMetricsStore {
    /// Serialises partition creation and dropping among servers (the catalog would otherwise see
    /// two servers create the same table at once).
    static var partitionLock: Int64 { AdvisoryLock.metricsPartitions }

    /// The partitions (of every table of a level) a sample needs: its raw time's, and its minute
    /// and hour buckets'.
    func partitionKeys(of ms: Int64) -> [(resolution: MetricResolution, index: Int64)] {
        MetricResolution.allCases.map { resolution in
            let time = resolution == .raw ? ms : MetricTime.bucketStart(ms, resolution)
            return (resolution, MetricsPartition.index(of: time, span: self.options.partitionMilliseconds(resolution)))
        }
    }

    /// Makes the partitions these samples need, and the next one of each level ahead, and returns
    /// the samples whose partitions exist. At most ``PostgresMetricsOptions/maximumNewPartitionsPerAppend``
    /// spans are made per call, the newest samples' first; older samples past it are dropped.
    func withPartitions(for order: [(ms: Int64, index: Int)]) async throws -> [(ms: Int64, index: Int)] {
        let known = self.partitions.withLock { $0 }
        func exists(_ resolution: MetricResolution, _ index: Int64) -> Bool {
            known.contains(MetricsPartition(table: MetricsTable(resolution: resolution, kind: .head), index: index))
        }
        var wanted: [MetricResolution: Set<Int64>] = [:]
        var newest: [MetricResolution: Int64] = [:]
        var kept: [(ms: Int64, index: Int)] = []
        var dropped = 0
        for entry in order.reversed() {
            let keys = self.partitionKeys(of: entry.ms)
            let missing = keys.filter { !exists($0.resolution, $0.index) && !(wanted[$0.resolution]?.contains($0.index) ?? false) }
            let count = wanted.values.reduce(0) { $0 + $1.count }
            if count + missing.count > self.options.maximumNewPartitionsPerAppend {
                dropped += 1
                continue
            }
            for key in missing { wanted[key.resolution, default: []].insert(key.index) }
            for key in keys { newest[key.resolution] = max(newest[key.resolution] ?? .min, key.index) }
            kept.append(entry)
        }
        if dropped > 0 {
            self.logger.warning("metrics samples dropped: their time partitions would pass the limit of new partitions per append",
                                metadata: ["dropped": "\(dropped)", "limit": "\(self.options.maximumNewPartitionsPerAppend)"])
        }
        var needed: Set<MetricsPartition> = []
        for (resolution, indices) in wanted {
            for index in indices { needed.formUnion(Self.partitions(resolution, index)) }
        }
        for (resolution, index) in newest where index < Int64.max {
            needed.formUnion(Self.partitions(resolution, index + 1))  // ahead, so the next span never waits on DDL
        }
        try await self.ensure(needed)
        return kept.reversed()
    }

    static func partitions(_ resolution: MetricResolution, _ index: Int64) -> [MetricsPartition] {
        [MetricsPartition(table: MetricsTable(resolution: resolution, kind: .head), index: index),
         MetricsPartition(table: MetricsTable(resolution: resolution, kind: .blocks), index: index)]
    }

    /// Creates the partitions not known to exist (under the partition lock, skipping those another
    /// server made meanwhile) and records them in `metrics_partitions`.
    ///
    /// One transaction per partition: creating one locks its parent table exclusively until the
    /// commit, and a transaction holding several parents would deadlock with a reader that scans
    /// them in another order (seen: `statistics()` against a batch of new partitions).
    func ensure(_ needed: Set<MetricsPartition>) async throws {
        let missing = needed.subtracting(self.partitions.withLock { $0 })
        for partition in missing.sorted(by: { $0.name < $1.name }) {
            let span = self.options.partitionMilliseconds(partition.table.resolution)
            let (lower, overflow) = partition.index.multipliedReportingOverflow(by: span)
            guard !overflow, lower <= Int64.max - span else { continue }
            let upper = lower + span
            try await self.client.withTransaction(logger: self.logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.partitionLock))", logger: self.logger)
                let rows = try await connection.query("SELECT count(*) FROM metrics_partitions WHERE name = \(partition.name)", logger: self.logger)
                var exists = false
                for try await count in rows.decode(Int64.self) { exists = count > 0 }
                guard !exists else { return }
                // Names and bounds are made here from integers: nothing external reaches the DDL.
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE TABLE \(partition.name) PARTITION OF \(partition.table.name) FOR VALUES FROM (\(lower)) TO (\(upper))"), logger: self.logger)
                try await connection.query("""
                    INSERT INTO metrics_partitions(name, parent, lower_ms, upper_ms) VALUES (\(partition.name), \(partition.table.name), \(lower), \(upper))
                    """, logger: self.logger)
            }
            self.partitions.withLock { _ = $0.insert(partition) }
        }
    }
}
