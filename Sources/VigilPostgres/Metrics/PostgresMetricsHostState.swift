import VigilStore

/// What one server knows of a host's history between appends: a cache of the database, valid while
/// `version` equals the host's `metrics_hosts.version`. Every write claims the version it read
/// (compare-and-set), so a cache made stale by another server's write fails its next write, is
/// reloaded (``PostgresMetricsStore/loadHosts(_:)``) and the write is planned again.
struct PostgresMetricsHostState: Sendable {
    /// The host's `metrics_hosts.version`; 0 when the host has no row yet.
    var version: Int64 = 0
    /// The newest stored raw sample (samples not newer are dropped), or `.min`.
    var newestRawMs: Int64 = .min
    /// Indexed by ``MetricResolution/level``: raw, minute, hour.
    var levels: [Level] = [.init(), .init(), .init()]
    var minuteBucket: RollupAccumulator?
    var hourBucket: RollupAccumulator?
    /// The rollup column names last built and the series they were built for (see
    /// ``RollupColumnNameCache``): closing buckets of one shape reuses one array.
    var rollupColumns: (series: [String], columns: [String]) = ([], [])

    /// One (host, resolution) level: its head rows, counted, and the run of rows that will make
    /// its next block.
    struct Level: Sendable {
        /// Time of the newest row at this level, sealed or not, or `.min`.
        var lastRowMs: Int64 = .min
        /// Rows in the head table.
        var headRows = 0
        /// The trailing head rows that do not make a full block yet (all of `openShape`). When
        /// `headRows > openRows` the level has rows to seal.
        var openRows = 0
        var openShape: Int64?
        /// The names of `openShape` (the last names seen at this level, compared per row).
        var openColumns: [String] = []

        var needsSeal: Bool { self.headRows > self.openRows }
    }

    func bucket(_ resolution: MetricResolution) -> RollupAccumulator? {
        resolution == .hour ? self.hourBucket : self.minuteBucket
    }

    mutating func setBucket(_ bucket: RollupAccumulator?, _ resolution: MetricResolution) {
        if resolution == .hour { self.hourBucket = bucket } else { self.minuteBucket = bucket }
    }

    mutating func rollupColumnNames(for series: [String], shared: RollupColumnNameCache) -> [String] {
        if series != self.rollupColumns.series {
            self.rollupColumns = (series, shared.columns(for: series))
        }
        return self.rollupColumns.columns
    }
}
