import Foundation
import Synchronization
import VigilAlerting
import VigilMetrics

/// The rule evaluator behind a lock, fed synchronously from where samples and liveness changes
/// arrive (the ingest path on the agents' event loops: a few microseconds, no I/O, no task hop);
/// the rare transitions go to the alert service through a stream.
///
/// It also counts the time it spends, so its cost is a figure (`GET /api/alerts/evaluation`,
/// reported by `vigil-bench ingest`), not a guess.
public final class AlertEvaluation: Sendable {
    private struct State {
        var evaluator: RuleEvaluator
        var samples: Int = 0
        var nanoseconds: Int64 = 0
    }

    private let state: Mutex<State>
    private let continuation: AsyncStream<[AlertTransition]>.Continuation
    let transitions: AsyncStream<[AlertTransition]>

    public init(rules: RuleSet = RuleSet()) {
        self.state = Mutex(State(evaluator: RuleEvaluator(rules: rules)))
        (self.transitions, self.continuation) = AsyncStream.makeStream()
    }

    /// What evaluation has cost so far.
    public struct Cost: Sendable, Codable, Equatable {
        public var samples: Int
        public var conditions: Int
        public var rules: Int
        public var seconds: Double
    }

    public var cost: Cost {
        self.state.withLock { Cost(samples: $0.samples, conditions: $0.evaluator.conditionCount, rules: $0.evaluator.rules.count, seconds: Double($0.nanoseconds) / 1e9) }
    }

    /// Evaluates one accepted sample.
    public func observe(hostname: String, receivedAt: Date, names: [String], values: [Double], processes: MetricsDocument.Processes?) {
        // The calling thread's CPU time, not the wall clock: on a busy machine the thread may be
        // descheduled mid-evaluation, and that is not evaluation's cost.
        let start = Self.threadCPUNanoseconds()
        let changes = self.state.withLock { state in
            let changes = state.evaluator.observe(hostname: hostname, at: Self.milliseconds(receivedAt), names: names, values: values, processes: processes)
            state.samples += 1
            state.nanoseconds += max(0, Self.threadCPUNanoseconds() - start)
            return changes
        }
        if !changes.isEmpty { self.continuation.yield(changes) }
    }

    public func presence(_ presence: HostPresence, of hostname: String, at date: Date) {
        let changes = self.state.withLock { $0.evaluator.presence(presence, of: hostname, at: Self.milliseconds(date)) }
        if !changes.isEmpty { self.continuation.yield(changes) }
    }

    public func tick(at date: Date) {
        let changes = self.state.withLock { $0.evaluator.tick(at: Self.milliseconds(date)) }
        if !changes.isEmpty { self.continuation.yield(changes) }
    }

    public func replace(rules: RuleSet, at date: Date) {
        let changes = self.state.withLock { $0.evaluator.replace(rules: rules, at: Self.milliseconds(date)) }
        if !changes.isEmpty { self.continuation.yield(changes) }
    }

    func restoreFiring(_ alert: (rule: String, hostname: String, series: String?, since: Date)) {
        self.state.withLock { $0.evaluator.restoreFiring(rule: alert.rule, hostname: alert.hostname, series: alert.series, since: Self.milliseconds(alert.since)) }
    }

    public func isDown(_ hostname: String) -> Bool {
        self.state.withLock { $0.evaluator.isDown(hostname) }
    }

    /// Ends the stream: the service drains what was yielded and stops.
    func finish() { self.continuation.finish() }

    static func threadCPUNanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    static func milliseconds(_ date: Date) -> Int64 {
        let ms = date.timeIntervalSince1970 * 1000
        // Server clock; bounded so a wild clock cannot trap the conversion.
        return ms.isFinite && abs(ms) < 9e15 ? Int64(ms) : 0
    }
}
