extension SQLiteMetricsStore {
    /// What the writer keeps in memory between transactions: everything here is either rebuilt
    /// from the database at start (open-block metadata, newest timestamps) or from the raw samples
    /// of the current minute and hour (the open rollup buckets).
    struct State: Sendable {
        var hostIDs: [String: Int64] = [:]
        var hosts: [Int64: HostState] = [:]
        /// Live rows of each level's head log, indexed by ``MetricResolution/level``.
        var logs: [HeadLogIndex] = [.init(), .init(), .init()]
        /// Closed rollup buckets awaiting their recomputation after back-fill (mirrors
        /// `rollup_dirty`), with when a back-filled sample last reached each.
        var dirty: [RollupDirtyBucket: ContinuousClock.Instant] = [:]
    }

    struct HostState: Sendable {
        /// The newest stored raw sample (samples not newer are dropped), or `.min`.
        var newestRawMs: Int64 = .min
        /// Indexed by ``MetricResolution/level``: raw, minute, hour.
        var levels: [LevelState] = [.init(), .init(), .init()]
        var minuteBucket: RollupAccumulator?
        var hourBucket: RollupAccumulator?
        /// The rollup column names last built and the series they were built for, so closing a
        /// bucket with the same series reuses the same array (and the open block's `!=` check is
        /// an identity comparison).
        var rollupColumns: (series: [String], columns: [String]) = ([], [])

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

    /// One (host, resolution) level.
    struct LevelState: Sendable {
        var open: OpenBlock?
        /// Timestamp of the newest row at this level, sealed or open, or `.min`.
        var lastRowMs: Int64 = .min
    }

    /// The block currently accumulating in the level's head log.
    struct OpenBlock: Sendable {
        var columns: [String]
        var startMs: Int64
        /// Head log row ids of its rows, in order (the first carries the names).
        var seqs: [Int64]
        /// Size of the names carried by the first row, for statistics.
        var namesBytes: Int

        var rows: Int { self.seqs.count }
    }
}
