#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One host's figures at one instant, flattened to named numeric series.
///
/// Names are the canonical dotted paths of the metrics document (`cpu.cpu_percent_total`,
/// `disk.partitions[/].percent`, see `MetricsDocument.series()`); `names` and `values` are parallel.
public struct MetricSample: Sendable, Equatable {
    public var hostname: String
    /// Unix seconds.
    public var timestamp: Double
    public var names: [String]
    public var values: [Double]

    public init(hostname: String, timestamp: Double, names: [String], values: [Double]) {
        precondition(names.count == values.count, "names and values must be parallel")
        self.hostname = hostname
        self.timestamp = timestamp
        self.names = names
        self.values = values
    }
}

/// How finely history is kept: every sample, or rolled up per minute or per hour.
public enum MetricResolution: Int, Sendable, CaseIterable, Codable, Comparable {
    case raw = 0
    case minute = 60
    case hour = 3600

    /// Seconds per bucket; 0 for raw samples.
    public var seconds: Int { self.rawValue }

    /// The name used in the API and configuration (`raw`, `1m`, `1h`).
    public var name: String {
        switch self {
        case .raw: "raw"
        case .minute: "1m"
        case .hour: "1h"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One point of a series. A raw point has `min == max == avg == last` and `count == 1`; a rollup
/// point summarises the `count` samples whose timestamps fall in `[timestamp, timestamp + bucket)`.
public struct SeriesPoint: Sendable, Equatable, Codable {
    /// Unix seconds: the sample time, or the bucket start.
    public var timestamp: Double
    public var min: Double
    public var max: Double
    public var avg: Double
    public var last: Double
    public var count: Int

    public init(timestamp: Double, min: Double, max: Double, avg: Double, last: Double, count: Int) {
        self.timestamp = timestamp
        self.min = min
        self.max = max
        self.avg = avg
        self.last = last
        self.count = count
    }

    /// A raw sample as a point.
    public init(timestamp: Double, value: Double) {
        self.init(timestamp: timestamp, min: value, max: value, avg: value, last: value, count: 1)
    }
}

/// How long each resolution is kept.
public struct MetricsRetention: Sendable, Equatable {
    public var raw: Duration
    public var minute: Duration
    public var hour: Duration

    public init(raw: Duration = .seconds(7 * 86_400), minute: Duration = .seconds(90 * 86_400), hour: Duration = .seconds(730 * 86_400)) {
        self.raw = raw
        self.minute = minute
        self.hour = hour
    }

    public func duration(for resolution: MetricResolution) -> Duration {
        switch resolution {
        case .raw: self.raw
        case .minute: self.minute
        case .hour: self.hour
        }
    }
}

/// The latest full document of a host, kept so `/current` and friends answer after a restart.
public struct LatestDocument: Sendable, Equatable {
    public var hostname: String
    /// Unix seconds of the sample.
    public var timestamp: Double
    /// The document as JSON, exactly as it will be served.
    public var json: [UInt8]

    public init(hostname: String, timestamp: Double, json: [UInt8]) {
        self.hostname = hostname
        self.timestamp = timestamp
        self.json = json
    }
}

/// What history occupies, for the API and the benchmark.
public struct MetricsStorageStatistics: Sendable, Equatable, Codable {
    public struct Level: Sendable, Equatable, Codable {
        /// Stored numbers: one per sample per series for raw; five (min, max, avg, last, count) per
        /// bucket per series for rollups.
        public var values: Int64
        /// Bytes of their encoded form (block payloads plus not yet sealed rows).
        public var bytes: Int64
        public var blocks: Int64

        public init(values: Int64 = 0, bytes: Int64 = 0, blocks: Int64 = 0) {
            self.values = values
            self.bytes = bytes
            self.blocks = blocks
        }
    }

    public var raw: Level
    public var minute: Level
    public var hour: Level
    /// The database files on disk (main file plus write-ahead log); 0 in memory.
    public var fileBytes: Int64

    enum CodingKeys: String, CodingKey {
        case raw, minute, hour
        case fileBytes = "file_bytes"
    }

    public init(raw: Level = .init(), minute: Level = .init(), hour: Level = .init(), fileBytes: Int64 = 0) {
        self.raw = raw
        self.minute = minute
        self.hour = hour
        self.fileBytes = fileBytes
    }
}

/// What retention removed in one pass.
public struct RetentionResult: Sendable, Equatable {
    public var deletedBlocks: Int
    public init(deletedBlocks: Int) { self.deletedBlocks = deletedBlocks }
}

/// Metrics history: raw samples and their per-minute and per-hour rollups, per host.
///
/// Implementations compute rollups as samples arrive (not by a later scan), keep each resolution
/// for its retention, and never block the caller's event loop (every method is `async`).
public protocol MetricsStore: Sendable {
    /// Stores samples (any hosts, in any order) and updates the rollups. One call is one transaction.
    ///
    /// Idempotent by (host, timestamp in whole milliseconds, see `MetricTime`): a sample whose host
    /// already has a stored sample at that millisecond is not stored again (the stored one stays),
    /// and neither is the second of two such samples in one call. So an agent replaying its spool,
    /// a replay cut short and replayed again, or a resend of a sample whose acknowledgement was lost
    /// stores each sample once.
    ///
    /// Back-fill: a sample older than the host's newest stored one is stored too, in its place in
    /// time, into raw history at once and into the minute and hour rollups, which count it exactly
    /// once (as if it had arrived in time: min/max/avg/last/count of the bucket's raw samples).
    /// A rollup bucket still open takes it at once; a closed bucket's stored figures may be brought
    /// up to date later (the SQLite store recomputes such a bucket once the replay has moved past
    /// it, within seconds, and in ``enforceRetention(now:)`` at the latest), so a replay does not
    /// rewrite a bucket once per sample. It is history only: nothing an implementation reports as
    /// the host's newest (``newestSampleTimes()``) moves back. Samples older than raw retention
    /// may be dropped. Back-fill is rare (after an outage) and may cost more per sample than an
    /// in-order append; ingest keeps the common path fast.
    ///
    /// - Returns: How many samples were newly stored (duplicates are not counted).
    @discardableResult
    func append(_ samples: [MetricSample]) async throws -> Int

    /// Points of one series of one host with `from <= timestamp <= to`, oldest first, at one resolution.
    /// Rollup buckets still open (the current minute or hour) are included with what they hold so far.
    /// Implementations may stop reading once more than `limit` points are collected and return
    /// what they have: the caller treats more than `limit` as too many.
    func points(hostname: String, series: String, from: Double, to: Double, resolution: MetricResolution, limit: Int) async throws -> [SeriesPoint]

    /// The series names of a host: those of its raw data within raw retention (or of its newest
    /// rollups once raw data has expired), sorted.
    func seriesNames(hostname: String) async throws -> [String]

    /// Each host's newest stored raw sample time (Unix seconds): after a restart, which hosts have
    /// history and which resends are already stored, even for a host whose latest document was not
    /// saved yet.
    func newestSampleTimes() async throws -> [String: Double]

    /// Replaces the stored latest documents of these hosts.
    func saveLatest(_ documents: [LatestDocument]) async throws
    /// Every stored latest document (read once at start).
    func latestDocuments() async throws -> [LatestDocument]

    /// Deletes what is older than each resolution's retention, relative to `now` (Unix seconds).
    @discardableResult
    func enforceRetention(now: Double) async throws -> RetentionResult

    func statistics() async throws -> MetricsStorageStatistics

    /// Writes anything held only in memory (called at shutdown).
    func flush() async throws
}

extension MetricsStore {
    /// Every point in the range, with no limit.
    public func points(hostname: String, series: String, from: Double, to: Double, resolution: MetricResolution) async throws -> [SeriesPoint] {
        try await self.points(hostname: hostname, series: series, from: from, to: to, resolution: resolution, limit: .max)
    }
}
