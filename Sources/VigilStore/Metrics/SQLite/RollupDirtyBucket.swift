/// A closed rollup bucket of one host whose stored figures lack back-filled samples: recomputed
/// from the raw rows once the replay has moved past it (see `SQLiteMetricsWriter+Backfill`).
/// Listed in `rollup_dirty` in the same transaction as the raw rows, so a restart loses none.
struct RollupDirtyBucket: Hashable, Sendable {
    var hostID: Int64
    var resolution: MetricResolution
    /// The bucket's start, Unix milliseconds.
    var start: Int64
}
