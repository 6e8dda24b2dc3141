import VigilStore

/// How the PostgreSQL metrics store cuts its data: block sizes (as in ``SQLiteMetricsStore``),
/// retention, and the spans of its time partitions.
///
/// Partition spans: raw data one day, rollups 30 days. Retention drops a partition once its whole
/// span is older than the resolution's retention, so data is kept for its retention plus at most
/// one span: a day beyond the 7 days of raw data, 30 days beyond the 90 days of minutes (and the 730
/// of hours). Finer spans would only multiply tables (the planner prunes partitions, but each one
/// costs catalog rows, a file per index and a lock per statement that touches it); coarser ones
/// would keep expired data longer. Every span is a whole number of seconds, so partition bounds are
/// exact milliseconds.
public struct PostgresMetricsOptions: Sendable, Equatable {
    public var retention: MetricsRetention
    /// Samples per sealed raw block (120 = 10 minutes at 5 s).
    public var rawBlockRows: Int
    /// Minute buckets per sealed block (60 = an hour).
    public var minuteBlockRows: Int
    /// Hour buckets per sealed block (24 = a day).
    public var hourBlockRows: Int
    /// The time one partition of the raw tables covers.
    public var rawPartitionSpan: Duration
    /// The time one partition of the minute and hour tables covers.
    public var rollupPartitionSpan: Duration
    /// Partitions one append may create, beyond the one ahead of the newest. A sample whose
    /// partition would pass the limit (timestamps scattered over years by a broken clock) is dropped
    /// rather than fill the catalog with tables; the next appends create the next ones.
    public var maximumNewPartitionsPerAppend: Int

    public init(retention: MetricsRetention = .init(), rawBlockRows: Int = 120, minuteBlockRows: Int = 60, hourBlockRows: Int = 24,
                rawPartitionSpan: Duration = .seconds(86_400), rollupPartitionSpan: Duration = .seconds(30 * 86_400),
                maximumNewPartitionsPerAppend: Int = 64) {
        self.retention = retention
        self.rawBlockRows = rawBlockRows
        self.minuteBlockRows = minuteBlockRows
        self.hourBlockRows = hourBlockRows
        self.rawPartitionSpan = rawPartitionSpan
        self.rollupPartitionSpan = rollupPartitionSpan
        self.maximumNewPartitionsPerAppend = maximumNewPartitionsPerAppend
    }

    /// Rows per block, indexed by ``MetricResolution/level``.
    var blockRows: [Int] { [self.rawBlockRows, self.minuteBlockRows, self.hourBlockRows] }

    /// Milliseconds of one partition of a level's tables.
    func partitionMilliseconds(_ resolution: MetricResolution) -> Int64 {
        let span = resolution == .raw ? self.rawPartitionSpan : self.rollupPartitionSpan
        return max(1000, span.components.seconds * 1000)
    }
}
