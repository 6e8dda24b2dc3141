import Foundation
import Logging
import NIOCore
import Synchronization
import VigilMetrics
import VigilStore

/// Takes metrics samples from agents (TCP) and scripts (HTTP): checks, rate-limits, updates the
/// latest-sample cache at once, and queues the flattened series for the writer.
///
/// A sample not newer than the host's latest accepted one is **back-fill** (an agent replaying its
/// spool after an outage, or a resend): it is queued for history only, under a rate budget of its
/// own (`metrics.backfill_rate_limit`), and never touches the latest-sample cache, the live stream
/// or alert evaluation, so "current" never goes backwards. The store keeps each (host, timestamp)
/// once, so a resend is acknowledged without being stored twice.
///
/// ``ingest(_:hostname:receivedAt:now:onStored:)`` only takes a lock briefly and never waits for
/// I/O, so the agent connections call it on their event loops; ``MetricsService`` writes the queue
/// off them and calls each sample's `onStored` once its transaction is on disk: that is when the
/// sender is acknowledged (HTTP 200, or the `SERVER_RESPONSE` that acknowledges a `METRICS` frame).
public final class MetricsIngestor: Sendable {
    /// Told once whether a queued sample reached the disk.
    public typealias Completion = @Sendable (Result<Void, any Error>) -> Void

    /// A sample waiting for the writer, with whoever waits for its acknowledgement.
    struct Queued: Sendable {
        var sample: MetricSample
        var onStored: Completion?
    }

    private struct State {
        /// A ring, so taking a batch off the front costs the batch, not a shift of the whole
        /// backlog while the event loops wait on this lock.
        var pending = CircularBuffer<Queued>()
        var buckets: [String: TokenBucket] = [:]
        /// Per host, the budget of back-filled samples (``ServerSettings/metricsBackfillRateLimit``).
        var backfillBuckets: [String: TokenBucket] = [:]
        var backfilled = 0
        /// The newest accepted sample time per host, in milliseconds (the precision history and the
        /// stored latest document keep), so resends and stepped-back clocks are refused.
        var newest: [String: Int64] = [:]
        /// Each host's latest series names. A host sends the same names sample after sample, so
        /// queued samples share one array per host instead of holding a hundred strings each.
        var names: [String: [String]] = [:]
        /// Distinct series lists seen, so hosts of the same shape share one array.
        var shapes: [[String]: [String]] = [:]
        var accepted: Int = 0
        var refused: [IngestRefusal.Kind: Int] = [:]
    }

    public let latest: LatestMetrics
    /// The live stream: told of each accepted sample (it only enqueues; see ``LiveHub``).
    let live: LiveHub?
    /// Alert rules, evaluated on each accepted sample as it arrives.
    let alerts: AlertEvaluation?
    /// The settings in force: the `metrics.*` limits are read per sample, so a reload changes them at once.
    let liveSettings: LiveSettings
    var settings: ServerSettings { self.liveSettings.current }
    /// Whether the disk has room: while it has not, samples are refused (`storage_full`).
    let storage: StorageCondition?
    /// The server's figures: the writer counts the samples it stores there.
    let serverMetrics: ServerMetrics?
    private let state = Mutex(State())
    private let logger: Logger
    /// Wakes the writer whenever a sample is queued; at most one wake-up is buffered, so the writer
    /// takes everything that arrived during its previous write in one transaction (group commit).
    private let wake: AsyncStream<Void>.Continuation
    let wakeups: AsyncStream<Void>

    public init(settings: ServerSettings, latest: LatestMetrics = LatestMetrics(), live: LiveHub? = nil, alerts: AlertEvaluation? = nil, storage: StorageCondition? = nil, serverMetrics: ServerMetrics? = nil, logger: Logger, liveSettings: LiveSettings? = nil) {
        self.liveSettings = liveSettings ?? LiveSettings(settings)
        self.alerts = alerts
        self.storage = storage
        self.serverMetrics = serverMetrics
        self.latest = latest
        self.live = live
        self.logger = logger
        (self.wakeups, self.wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Checks one sample and queues it.
    ///
    /// - Parameters:
    ///   - document: The sample; its `hostname` is ignored (the caller's authenticated identity wins).
    ///   - hostname: The host the sample belongs to.
    ///   - receivedAt: The server's clock now.
    ///   - onStored: Called once the sample's write transaction is on disk (or failed), from the
    ///     writer's task; not called when this throws.
    /// - Throws: ``IngestRefusal`` when the sample is not taken; nothing is changed then.
    public func ingest(_ document: MetricsDocument, hostname: String, receivedAt: Date = Date(), now: ContinuousClock.Instant = .now, onStored: Completion? = nil) throws(IngestRefusal) {
        let timestamp = document.timestamp.timeIntervalSince1970
        let received = receivedAt.timeIntervalSince1970
        // The limits in force now (a reload may change them), read once per sample.
        let settings = self.settings
        if let violation = document.rangeViolation() {
            throw self.refuse(IngestRefusal(.invalid, violation))
        }
        if timestamp > received + settings.metricsMaxClockSkew.seconds {
            // `rangeViolation` above bounds the timestamp (year 9999, `ValueRange.unixSeconds`),
            // so the difference fits an Int: `Int(1e300 - now)` trapped, and any key holder could
            // stop the server.
            throw self.refuse(IngestRefusal(.invalid, "timestamp: \(Int(timestamp - received)) s ahead of the server's clock (limit metrics.max_clock_skew = \(settings.metricsMaxClockSkew.compactDescription)); check the host's clock"))
        }
        if timestamp < received - settings.retention.raw.seconds {
            throw self.refuse(IngestRefusal(.invalid, "timestamp: older than the raw retention (\(settings.retention.raw.compactDescription))"))
        }
        let series = document.series()
        if series.count > settings.metricsMaxSeries {
            throw self.refuse(IngestRefusal(.invalid, "(top level): \(series.count) numeric series in one sample; the limit is \(settings.metricsMaxSeries)"))
        }
        if let long = series.first(where: { $0.name.utf8.count > settings.metricsMaxSeriesNameBytes }) {
            throw self.refuse(IngestRefusal(.invalid, "\(String(long.name.prefix(80)))…: series name over \(settings.metricsMaxSeriesNameBytes) bytes (a mount point or interface name too long)"))
        }
        if let storage = self.storage, storage.isFull {
            storage.refused()
            throw self.refuse(IngestRefusal(.storageFull, "storage_full: the server's disk is full; samples are refused until space returns", retryAfter: storage.retryAfter))
        }
        var sample = MetricSample(hostname: hostname, timestamp: timestamp, names: series.map(\.name), values: series.map(\.value))
        let backfill = try self.state.withLock { (state) throws(IngestRefusal) -> Bool in
            let milliseconds = Self.milliseconds(timestamp)
            // Not newer than the latest: back-fill (history only; see the type's notes).
            let backfill = state.newest[hostname].map { milliseconds <= $0 } ?? false
            if state.pending.count >= settings.metricsMaxPending {
                state.refused[.busy, default: 0] += 1
                throw IngestRefusal(.busy, "\(state.pending.count) samples are waiting to be written (metrics.max_pending); retry later", retryAfter: settings.metricsFlushInterval)
            }
            if backfill {
                var bucket = state.backfillBuckets[hostname] ?? TokenBucket(burst: settings.metricsBackfillRateBurst, now: now)
                let wait = bucket.take(rate: settings.metricsBackfillRateLimit, burst: settings.metricsBackfillRateBurst, now: now)
                state.backfillBuckets[hostname] = bucket
                if let wait {
                    state.refused[.rateLimited, default: 0] += 1
                    throw IngestRefusal(.rateLimited, "host \(hostname) back-fills more than \(settings.metricsBackfillRateLimit) samples/s (burst \(Int(settings.metricsBackfillRateBurst))); metrics.backfill_rate_limit", retryAfter: wait)
                }
            } else {
                var bucket = state.buckets[hostname] ?? TokenBucket(burst: settings.metricsRateBurst, now: now)
                let wait = bucket.take(rate: settings.metricsRateLimit, burst: settings.metricsRateBurst, now: now)
                state.buckets[hostname] = bucket
                if let wait {
                    state.refused[.rateLimited, default: 0] += 1
                    throw IngestRefusal(.rateLimited, "host \(hostname) sends more than \(settings.metricsRateLimit) samples/s (burst \(Int(settings.metricsRateBurst))); metrics.rate_limit", retryAfter: wait)
                }
                state.newest[hostname] = milliseconds
            }
            if let names = state.names[hostname], names == sample.names {
                sample.names = names
            } else {
                // A new shape for this host: hosts of the same shape share one array too.
                if let shared = state.shapes[sample.names] {
                    sample.names = shared
                } else {
                    if state.shapes.count >= Self.maxShapes { state.shapes.removeAll(keepingCapacity: true) }
                    state.shapes[sample.names] = sample.names
                }
                state.names[hostname] = sample.names
            }
            state.pending.append(Queued(sample: sample, onStored: onStored))
            state.accepted += 1
            if backfill { state.backfilled += 1 }
            return backfill
        }
        self.wake.yield()
        // Only a newer sample is "current": a back-filled one must not move the host's figures,
        // its live stream or its alerts back in time.
        guard !backfill else { return }
        self.latest.update(hostname, LatestSample(document: document, receivedAt: receivedAt))
        self.alerts?.observe(hostname: hostname, receivedAt: receivedAt, names: sample.names, values: sample.values, processes: document.processes)
        self.live?.publishSample(hostname: hostname, receivedAt: receivedAt, document: document)
    }

    private func refuse(_ refusal: IngestRefusal) -> IngestRefusal {
        self.state.withLock { $0.refused[refusal.kind, default: 0] += 1 }
        return refusal
    }

    /// Wakes the writer (``MetricsService``) to write what is queued.
    func wakeWriter() {
        self.wake.yield()
    }

    /// Takes up to `metrics.max_batch` queued samples, oldest first.
    func takeBatch() -> [Queued] {
        self.state.withLock { state in
            let count = min(state.pending.count, self.settings.metricsMaxBatch)
            guard count > 0 else { return [] }
            let batch = Array(state.pending.prefix(count))
            state.pending.removeFirst(count)
            return batch
        }
    }

    /// After a failed write: lets each host of the lost samples send them again. A host whose
    /// newest accepted sample is among the lost goes back to just before its earliest lost one; a
    /// host that had a later sample accepted meanwhile (still queued) keeps it, and a resend of a
    /// lost one is then refused as stale rather than stored out of order.
    func forget(_ lost: [MetricSample]) {
        var earliest: [String: (ms: Int64, all: Set<Int64>)] = [:]
        for sample in lost {
            let ms = Self.milliseconds(sample.timestamp)
            var entry = earliest[sample.hostname] ?? (ms, [])
            entry.ms = min(entry.ms, ms)
            entry.all.insert(ms)
            earliest[sample.hostname] = entry
        }
        self.state.withLock { state in
            for (hostname, entry) in earliest {
                if let newest = state.newest[hostname], entry.all.contains(newest) {
                    state.newest[hostname] = entry.ms - 1
                }
            }
        }
    }

    /// Takes every queued sample, for failing them all (a write failed: those behind it would
    /// otherwise wait for the next sample to wake the writer, which a full disk refuses).
    func takeAll() -> [Queued] {
        self.state.withLock { state in
            let all = Array(state.pending)
            state.pending.removeAll()
            return all
        }
    }

    /// Whether the host has sent a sample that is kept (since start, or in the history store).
    public func knows(host hostname: String) -> Bool {
        self.state.withLock { $0.newest[hostname] != nil }
    }

    /// Samples queued and not yet written.
    public var pendingCount: Int { self.state.withLock { $0.pending.count } }

    /// Accepted samples that were back-fill (older than the host's latest), since start; they are
    /// also counted in ``counters``' `accepted`.
    public var backfilledCount: Int { self.state.withLock { $0.backfilled } }

    /// Counts since start, for the health endpoint and the benchmark.
    public var counters: (accepted: Int, refused: [IngestRefusal.Kind: Int]) {
        self.state.withLock { ($0.accepted, $0.refused) }
    }

    /// Seeds the per-host newest timestamps from what the store kept, so resends after a restart
    /// are refused too.
    func restoreNewest(_ newest: [String: Double]) {
        self.state.withLock { state in
            for (hostname, timestamp) in newest {
                // A stored document's timestamp went through ISO 8601 with milliseconds, which
                // truncates the binary fraction (…0.0859999 is written .085): the original may be up
                // to 1 ms later. Counting the restored time as 1 ms later keeps a resend after a
                // restart recognised; samples are seconds apart, so nothing real is refused.
                let milliseconds = Int64((timestamp * 1000).rounded()) + 1
                if (state.newest[hostname] ?? .min) < milliseconds { state.newest[hostname] = milliseconds }
            }
        }
    }

    /// Distinct series lists remembered for sharing; beyond it the memory starts over.
    static let maxShapes = 4096

    private static func milliseconds(_ seconds: Double) -> Int64 {
        Int64((seconds * 1000).rounded(.down))
    }
}
