import VigilMetrics

/// Takes one metrics sample of this host; ``VigilAgent`` calls it on a fixed cadence and sends the
/// result as a `METRICS` frame while it is registered.
///
/// The agent keeps **one** sampler for its whole life, across reconnects and failovers, so an
/// implementation may keep the previous raw counters between calls and report rates against them
/// (the real one wraps `VigilCollectors.CollectorRegistry`, see `vigil-agent`). Calls are serial,
/// never concurrent, and run on a blocking-work thread pool (`NIOThreadPool`), never on an event
/// loop or the Swift concurrency pool: `sample()` may block on file I/O (/proc, /sys, statfs).
public protocol MetricsSampler: Sendable {
    /// Reads the host's figures now. A part that cannot be read is left out of the document.
    func sample() -> MetricsDocument
}

/// What happened to the samples an agent took (all counts since the agent started).
public struct MetricsStatistics: Sendable, Equatable {
    /// Samples taken.
    public var sampled = 0
    /// Samples written to a registered session's connection as `METRICS` frames.
    public var sent = 0
    /// Samples dropped because no session took them: not registered (connecting, backing off,
    /// shutting down), or registered with a server that does not accept `METRICS`, or sent and not
    /// acknowledged when the connection ended. Only without a spool (or when writing it failed):
    /// with one, such samples are spooled (``spool``).
    public var droppedNotRegistered = 0
    /// Samples dropped because the previous one was still waiting to be written (a stalled
    /// connection); with a spool they are spooled instead.
    public var droppedBacklog = 0
    /// Samples not sent because their frame exceeded the server's `max_frame_size`.
    public var droppedOversized = 0
    /// Sent samples the server refused with a non-fatal `SERVER_RESPONSE` (`rate_limited`, `invalid_field`, …).
    public var refused = 0
    /// Sent samples the server acknowledged as stored on disk (`SERVER_RESPONSE` with `success: true`
    /// and `in_reply_to` = the frame's id). Sent minus acknowledged minus refused is what a crash
    /// of the server or the connection may have lost.
    public var acknowledged = 0
    /// Spooled samples sent again after a reconnect (their acknowledgements are counted in
    /// ``spool``'s `acknowledged`).
    public var replayed = 0
    /// What became of the samples that went through the on-disk spool (all zero without one).
    public var spool = SpoolCounters()

    public init() {}
}
