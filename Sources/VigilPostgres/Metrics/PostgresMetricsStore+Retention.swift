import PostgresNIO
import VigilStore

extension PostgresMetricsStore {
    /// Drops, per table, the partitions wholly older than its level's retention relative to `now`
    /// (`DROP TABLE` of the partition: no row is deleted one by one, nothing is left to vacuum).
    /// Before that it writes rollup buckets left open by hosts that stopped reporting (see
    /// ``staleBucketGraceMs``), whichever server received their samples, and makes sure the
    /// partitions of the current and next span exist.
    ///
    /// Data is kept for at least its retention and at most one partition span longer (see
    /// ``PostgresMetricsOptions``). Dropping a partition locks its parent table for a moment (the
    /// catalog change), once per span and table. Run it on one server of a cluster (the leader);
    /// two at once are safe (they serialise on the partition lock).
    ///
    /// - Returns: The sealed blocks in the dropped block partitions, plus per dropped head partition
    ///   the hosts that had open-block rows in it.
    @discardableResult
    public func enforceRetention(now: Double) async throws -> RetentionResult {
        guard let nowMs = MetricTime.milliseconds(now) else { return RetentionResult(deletedBlocks: 0) }
        try await self.closeStaleBuckets(nowMs: nowMs)
        var ahead: Set<MetricsPartition> = []
        for key in self.partitionKeys(of: nowMs) {
            ahead.formUnion(Self.partitions(key.resolution, key.index))
            if key.index < .max { ahead.formUnion(Self.partitions(key.resolution, key.index + 1)) }
        }
        try await self.ensure(ahead)

        // One transaction per partition, for the reason given at ``ensure(_:)``.
        var deleted = 0
        var dropped: [String] = []
        for table in MetricsTable.all {
            let cutoff = nowMs - MetricTime.milliseconds(self.options.retention.duration(for: table.resolution))
            var names: [String] = []
            let rows = try await self.client.query(
                "SELECT name FROM metrics_partitions WHERE parent = \(table.name) AND upper_ms <= \(cutoff) ORDER BY lower_ms", logger: self.logger)
            for try await name in rows.decode(String.self) { names.append(name) }
            for name in names {
                deleted += try await self.client.withTransaction(logger: self.logger) { connection -> Int in
                    try await connection.query("SELECT pg_advisory_xact_lock(\(Self.partitionLock))", logger: self.logger)
                    let registered = try await connection.query("DELETE FROM metrics_partitions WHERE name = \(name) RETURNING name", logger: self.logger)
                    var found = false
                    for try await _ in registered.decode(String.self) { found = true }
                    guard found else { return 0 }  // another server dropped it meanwhile
                    // Names come from metrics_partitions, which only this store writes (from integers).
                    let count = table.kind == .blocks ? "SELECT count(*) FROM \(name)" : "SELECT count(DISTINCT hostname) FROM \(name)"
                    var rows = 0
                    for try await value in try await connection.query(PostgresQuery(unsafeSQL: count), logger: self.logger).decode(Int64.self) {
                        rows = Int(value)
                    }
                    try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(name)"), logger: self.logger)
                    return rows
                }
                dropped.append(name)
            }
        }
        if !dropped.isEmpty {
            let gone = Set(dropped)
            self.partitions.withLock { $0 = $0.filter { !gone.contains($0.name) } }
            // Cached head-row counts may include dropped rows: reload on next use.
            self.hosts.withLock { $0.removeAll() }
        }
        return RetentionResult(deletedBlocks: deleted)
    }

    /// Writes the open buckets of hosts whose newest sample is more than the grace past their
    /// bucket's end (loaded from the database: their samples may have reached another server).
    func closeStaleBuckets(nowMs: Int64) async throws {
        let grace = Self.staleBucketGraceMs
        var hostnames: [String] = []
        let rows = try await self.client.query("""
            SELECT hostname FROM (
              SELECT hostname, minute_ms, hour_ms,
                     newest_ms - ((newest_ms % 60000) + 60000) % 60000 AS minute_start,
                     newest_ms - ((newest_ms % 3600000) + 3600000) % 3600000 AS hour_start
              FROM metrics_hosts WHERE newest_ms > \(Int64.min)
            ) h
            WHERE (minute_start > minute_ms AND minute_start + 60000 + \(grace) <= \(nowMs))
               OR (hour_start > hour_ms AND hour_start + 3600000 + \(grace) <= \(nowMs))
            ORDER BY hostname
            """, logger: self.logger)
        for try await hostname in rows.decode(String.self) { hostnames.append(hostname) }
        guard !hostnames.isEmpty else { return }
        var attempt = 0
        while true {
            attempt += 1
            self.forget(hostnames)
            var states = try await self.states(of: hostnames)
            var plan = PostgresMetricsPlan(blockRows: self.options.blockRows, shapes: self.shapes, columnNames: self.rollupColumnNames)
            for hostname in hostnames {
                for resolution in MetricResolution.rollups {
                    guard let bucket = states[hostname]!.bucket(resolution),
                          bucket.start + MetricTime.bucketMilliseconds(resolution) + grace <= nowMs else { continue }
                    plan.close(bucket, resolution, hostname: hostname, host: &states[hostname]!)
                }
            }
            guard !plan.isEmpty else { return }
            do {
                try await self.write(plan, states: &states)
                return
            } catch let error where attempt < Self.maximumAttempts && self.isRetryable(error) {
                continue
            }
        }
    }
}
