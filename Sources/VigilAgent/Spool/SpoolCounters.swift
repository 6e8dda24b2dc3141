/// What happened to the samples that went through the spool (counts since the agent started;
/// they appear in ``MetricsStatistics``).
public struct SpoolCounters: Sendable, Equatable {
    /// Samples written to the spool.
    public var spooled = 0
    /// Spooled samples the server acknowledged (removed from the spool).
    public var acknowledged = 0
    /// Samples dropped because the spool was over `spool.max_bytes` (the oldest first).
    public var droppedFull = 0
    /// Samples dropped because they were older than `spool.max_age`.
    public var droppedExpired = 0
    /// Torn or damaged records found (a crash while writing, a damaged disk) and skipped.
    public var damaged = 0

    public init() {}
}
