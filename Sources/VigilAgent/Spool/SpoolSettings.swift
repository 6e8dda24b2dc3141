/// The on-disk spool of metrics samples the agent could not hand to a server (issue 15 §3): the
/// `spool.*` settings of `vigil-agent`, each with its default.
public struct SpoolSettings: Sendable, Equatable {
    /// Where the segment files live (created 0700; files 0600). One agent per directory: a second
    /// one finds it locked and runs without a spool.
    public var directory: String
    /// `spool.max_bytes`: the most the spool keeps on disk. Past it the oldest samples are dropped
    /// (a segment at a time, oldest first) and counted.
    public var maxBytes: Int = 64 << 20
    /// `spool.max_age`: a spooled sample older than this is dropped (counted) instead of replayed.
    public var maxAge: Duration = .seconds(86_400)
    /// `spool.replay_rate`: spooled samples sent per second after a reconnect, beside the live ones.
    /// Keep it within the server's `metrics.backfill_rate_limit` (default 100/s).
    public var replayRate: Double = 50
    /// Spooled samples sent and not yet acknowledged at once.
    public var replayWindow = 32
    /// Samples sent live and not yet acknowledged that a session remembers (to spool them if the
    /// connection breaks first); the oldest beyond this are spooled at once.
    public var maxUnacknowledged = 256
    /// At most one warning about dropped samples per this long.
    public var dropLogInterval: Duration = .seconds(60)

    public init(directory: String) {
        self.directory = directory
    }

    /// Bytes per segment file: an eighth of `maxBytes` (so dropping the oldest segment frees an
    /// eighth of the spool), at least 4 KiB and at most 4 MiB.
    var segmentBytes: Int { min(max(self.maxBytes / 8, 1), 4 << 20) }

    /// The accepted ranges, checked by the loader.
    public static let maxBytesRange = (64 << 10)...(1 << 40)
    public static let maxAgeRange: ClosedRange<Duration> = .seconds(1) ... .seconds(365 * 86_400)
    public static let replayRateRange = 0.1...100_000.0
}
