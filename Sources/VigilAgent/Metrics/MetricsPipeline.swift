import Foundation
import Logging
import NIOPosix
import Synchronization
import VigilMetrics

/// The agent-lifetime half of metrics: one sampler on one fixed schedule, the counters and the
/// throttled logs. It outlives sessions, so a reconnect neither restarts the schedule nor resets
/// the sampler's rate state; a session that registers attaches a sink, and detaches it when it
/// stops being registered.
///
/// Samples taken while no session is registered (and samples a session sent that the server did
/// not acknowledge before the connection ended) go to the on-disk spool when there is one
/// (``SampleSpool``, `spool.*` settings), and are replayed from it once a session is registered
/// again (``MetricsPipeline/replay(_:)``); without a spool they are dropped (counted, logged at
/// debug level).
final class MetricsPipeline: Sendable {
    /// Where a registered session takes samples: enqueues one on its event stream, or returns
    /// `false` when that stream has ended.
    typealias Sink = @Sendable (MetricsDocument) -> Bool

    let sampler: any MetricsSampler
    /// The agent's own sampling period (`metrics_interval`), used unless a server asks for another.
    let ownInterval: Duration
    private let currentInterval: Mutex<Duration>
    /// The sampling period in force: the agent's own, or the one the server set
    /// (`session.metrics_interval`, at registration or by `SESSION_UPDATE`). Read at every tick.
    var interval: Duration { self.currentInterval.withLock { $0 } }
    private let refusalLogInterval: Duration
    let threadPool: NIOThreadPool
    private let state: Mutex<State>
    /// The on-disk spool; `nil`: samples that cannot be sent are dropped.
    let spool: SampleSpool?

    private struct State {
        var sink: Sink?
        var sinkID: UInt64 = 0
        /// A sample handed to the sink that the session has not taken yet: at most one is queued.
        var pending = false
        /// That sample, so a session that ends before taking it can have it spooled.
        var pendingDocument: MetricsDocument?
        /// Samples handed to a session that detached before taking them (spooled when it ends).
        var orphans: [MetricsDocument] = []
        var statistics = MetricsStatistics()
        var oversizeWarned = false
        var refusalLog: LogThrottle
        var spoolLog: LogThrottle
    }

    /// - Parameters:
    ///   - interval: The sampling period; clamped to at least ``minimumInterval``.
    ///   - refusalLogInterval: At most one warning per this long about refused samples.
    init(sampler: any MetricsSampler, interval: Duration, refusalLogInterval: Duration, spool: SampleSpool? = nil, threadPool: NIOThreadPool = .singleton) {
        self.sampler = sampler
        self.spool = spool
        let own = max(interval, Self.minimumInterval)
        self.ownInterval = own
        self.currentInterval = Mutex(own)
        self.refusalLogInterval = refusalLogInterval
        self.threadPool = threadPool
        self.state = Mutex(State(refusalLog: LogThrottle(interval: refusalLogInterval),
                                 spoolLog: LogThrottle(interval: spool?.settings.dropLogInterval ?? refusalLogInterval)))
    }

    /// The shortest sampling period: a tiny interval must not turn the agent into a busy loop.
    static let minimumInterval: Duration = .milliseconds(100)
    /// The longest period a server may set.
    static let maximumInterval: Duration = .seconds(3600)

    /// Follows the interval a server set (seconds; `nil`: the agent's own), clamped to
    /// ``minimumInterval``...``maximumInterval``. Takes effect from the next tick. Returns the
    /// interval now in force.
    @discardableResult
    func follow(serverInterval seconds: Double?) -> Duration {
        let interval: Duration
        if let seconds, seconds.isFinite, seconds > 0 {
            interval = min(max(.milliseconds(Int64(min(seconds, 1e9) * 1000)), Self.minimumInterval), Self.maximumInterval)
        } else {
            interval = self.ownInterval
        }
        self.currentInterval.withLock { $0 = interval }
        return interval
    }

    var statistics: MetricsStatistics {
        var statistics = self.state.withLock { $0.statistics }
        if let spool = self.spool { statistics.spool = spool.counters }
        return statistics
    }

    // MARK: Schedule

    /// Samples every ``interval`` until cancelled or shutdown is requested.
    ///
    /// The cadence is fixed: tick n is at start + n × interval, whatever a sample costs, so samples
    /// do not drift. A tick missed (a slow sample, a suspended process) is skipped, not made up:
    /// the next sample is taken at the next tick still ahead, never in a burst.
    func run(shutdown: ShutdownSignal, logger: Logger) async {
        var tick = ContinuousClock.now
        while !Task.isCancelled, !shutdown.isRequested {
            let sampler = self.sampler
            let document: MetricsDocument
            do {
                // Reading /proc blocks: keep it off the event loops and the cooperative pool.
                document = try await self.threadPool.runIfActive { sampler.sample() }
            } catch {
                // Cancelled, or the pool is shutting down: the agent is stopping.
                return
            }
            await self.deliver(document, logger: logger)
            let (next, skipped) = Self.nextTick(after: tick, interval: self.interval, now: .now)
            if skipped > 0 {
                logger.debug("metrics sampling fell behind; skipping ticks", metadata: ["skipped": "\(skipped)"])
            }
            tick = next
            do {
                try await Task.sleep(until: tick, clock: .continuous)
            } catch {
                return
            }
        }
    }

    /// The first tick of the grid `previous + k × interval` (k ≥ 1) that is still ahead of `now`,
    /// and how many ticks were passed over to reach it.
    static func nextTick(after previous: ContinuousClock.Instant, interval: Duration, now: ContinuousClock.Instant) -> (tick: ContinuousClock.Instant, skipped: Int) {
        let next = previous + interval
        guard next <= now else { return (next, 0) }
        let behind = now - next
        let skipped = Int((behind / interval).rounded(.down)) + 1
        return (next + interval * skipped, skipped)
    }

    // MARK: Hand-off to the registered session

    /// Hands a fresh sample to the registered session, or spools it (drops it without a spool).
    func deliver(_ document: MetricsDocument, logger: Logger) async {
        enum Outcome { case handOff(Sink, UInt64), notRegistered, backlog }
        let outcome = self.state.withLock { state -> Outcome in
            state.statistics.sampled += 1
            guard let sink = state.sink else { return .notRegistered }
            guard !state.pending else { return .backlog }
            state.pending = true
            state.pendingDocument = document
            return .handOff(sink, state.sinkID)
        }
        switch outcome {
        case .handOff(let sink, let id):
            guard !sink(document) else { return }
            // The session ended between attach and here. Count the sample once: a detach in the
            // meantime already took it over (and cleared `pending`).
            let mine = self.state.withLock { state -> Bool in
                guard state.pending, state.sinkID == id else { return false }
                state.pending = false
                state.pendingDocument = nil
                return true
            }
            if mine { await self.keep([document], because: .notRegistered, logger: logger) }
        case .notRegistered:
            await self.keep([document], because: .notRegistered, logger: logger)
        case .backlog:
            await self.keep([document], because: .backlog, logger: logger)
        }
    }

    /// Why a sample could not go to the server now.
    enum Held { case notRegistered, backlog, unacknowledged }

    /// Spools samples to be replayed later; without a spool (or when writing it fails) they are
    /// dropped and counted.
    func keep(_ documents: [MetricsDocument], because reason: Held, logger: Logger) async {
        guard !documents.isEmpty else { return }
        var failure: (any Error)?
        var dropped = 0
        if let spool = self.spool {
            let encoder = JSONEncoder()
            do {
                dropped = try await self.threadPool.runIfActive {
                    var dropped = 0
                    for document in documents {
                        let payload = try encoder.encode(document)
                        dropped += try spool.append(payload: Array(payload), timestampMs: SampleSpool.milliseconds(document.timestamp))
                    }
                    return dropped
                }
            } catch {
                failure = error
            }
        }
        if self.spool != nil, failure == nil {
            if dropped > 0 { self.noteSpoolDrops(logger: logger) }
            logger.trace("metrics samples spooled", metadata: ["samples": "\(documents.count)"])
            return
        }
        let total = self.state.withLock { state -> Int in
            switch reason {
            case .backlog: state.statistics.droppedBacklog += documents.count
            case .notRegistered, .unacknowledged: state.statistics.droppedNotRegistered += documents.count
            }
            return state.statistics.droppedNotRegistered + state.statistics.droppedBacklog
        }
        if let failure {
            let suppressed = self.state.withLock { $0.spoolLog.admit() }
            if suppressed != nil {
                logger.warning("cannot write the metrics spool; samples dropped", metadata: ["error": "\(failure)", "dropped": "\(total)"])
            }
        } else {
            logger.debug("metrics sample dropped: \(reason == .backlog ? "the previous one is not written yet" : "not registered")", metadata: ["dropped": "\(total)"])
        }
    }

    /// The spool dropped samples to stay within its bounds: a warning at most once per
    /// `spool.drop_log_interval`, with the totals.
    private func noteSpoolDrops(logger: Logger) {
        guard let spool = self.spool, let suppressed = self.state.withLock({ $0.spoolLog.admit() }) else { return }
        let counters = spool.counters
        logger.warning("metrics spool over its bounds; the oldest samples were dropped", metadata: [
            "dropped_full": "\(counters.droppedFull)", "dropped_expired": "\(counters.droppedExpired)",
            "max_bytes": "\(spool.settings.maxBytes)", "max_age": "\(spool.settings.maxAge)",
            "warnings_suppressed": "\(suppressed)",
        ])
    }

    /// Called by a session once registered.
    /// - Returns: A token for ``detach(_:)``.
    func attach(_ sink: @escaping Sink) -> UInt64 {
        self.state.withLock { state in
            state.sinkID &+= 1
            state.sink = sink
            state.pending = false
            state.pendingDocument = nil
            return state.sinkID
        }
    }

    /// Called by a session when it stops being registered (idempotent). A sample still queued on
    /// its stream will not be sent: it is spooled when the session ends.
    func detach(_ id: UInt64?) {
        guard let id else { return }
        self.state.withLock { state in
            guard state.sinkID == id, state.sink != nil else { return }
            state.sink = nil
            if state.pending {
                // Still queued on the session's stream, never to be sent there: spooled when the
                // session ends (``sessionEnded(unacknowledged:logger:)``).
                state.pending = false
                if let document = state.pendingDocument { state.orphans.append(document) }
                state.pendingDocument = nil
            }
        }
    }

    // MARK: Session callbacks

    /// The session took the queued sample off its stream (to send or drop it).
    func taken() {
        self.state.withLock { state in
            state.pending = false
            state.pendingDocument = nil
        }
    }

    func noteSent() {
        self.state.withLock { $0.statistics.sent += 1 }
    }

    /// The server has the sample on disk.
    func noteAcknowledged() {
        self.state.withLock { $0.statistics.acknowledged += 1 }
    }

    /// A spooled sample was sent again.
    func noteReplayed() {
        self.state.withLock { $0.statistics.replayed += 1 }
    }

    /// Takes the samples orphaned by a detach (see ``detach(_:)``).
    func takeOrphans() -> [MetricsDocument] {
        self.state.withLock { state in
            defer { state.orphans.removeAll() }
            return state.orphans
        }
    }

    /// A sample too large for the server's frame limit: warned about once per agent, then at debug level.
    func noteOversized(size: Int, limit: Int, logger: Logger) {
        let first = self.state.withLock { state in
            state.statistics.droppedOversized += 1
            defer { state.oversizeWarned = true }
            return !state.oversizeWarned
        }
        let metadata: Logger.Metadata = ["size": "\(size)", "max_frame_size": "\(limit)"]
        if first {
            logger.warning("metrics sample exceeds the server's max_frame_size; not sent (further ones are logged at debug level)", metadata: metadata)
        } else {
            logger.debug("metrics sample exceeds the server's max_frame_size; not sent", metadata: metadata)
        }
    }

    /// The server refused a sample without closing: a warning at most once per
    /// `refusalLogInterval`, with the number left unlogged since the previous one; debug otherwise.
    func noteRefused(code: String, message: String, logger: Logger) {
        let suppressed = self.state.withLock { state in
            state.statistics.refused += 1
            return state.refusalLog.admit()
        }
        var metadata: Logger.Metadata = ["code": "\(code)", "message": "\(message)"]
        if let suppressed {
            metadata["refused_since_last_warning"] = "\(suppressed)"
            metadata["next_warning_after"] = "\(self.refusalLogInterval)"
            logger.warning("server refused a metrics sample", metadata: metadata)
        } else {
            logger.debug("server refused a metrics sample", metadata: metadata)
        }
    }
}

/// Lets one log line through per interval and counts the ones held back.
struct LogThrottle: Sendable {
    let interval: Duration
    private var lastLogged: ContinuousClock.Instant?
    private var suppressed = 0

    init(interval: Duration) {
        self.interval = interval
    }

    /// - Returns: `nil` to hold this occurrence back; otherwise log it, with the number held back
    ///   since the previous logged one.
    mutating func admit(now: ContinuousClock.Instant = .now) -> Int? {
        if let last = self.lastLogged, now - last < self.interval {
            self.suppressed += 1
            return nil
        }
        defer { self.suppressed = 0 }
        self.lastLogged = now
        return self.suppressed
    }
}
