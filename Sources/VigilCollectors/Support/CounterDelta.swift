/// Increases of a fixed list of counters between two samples, the basis of every rate.
///
/// A counter that went backwards (reboot, device re-created, a 32-bit driver counter wrapping)
/// has no increase (`nil`), so it yields no rate: never a negative one.
struct CounterDelta: Equatable {
    /// One entry per counter, in the collector's fixed order.
    var increases: [UInt64?]

    /// No counter known (a device that was not in the previous sample).
    static func unknown(_ count: Int) -> CounterDelta {
        CounterDelta(increases: Array(repeating: nil, count: count))
    }

    init(increases: [UInt64?]) {
        self.increases = increases
    }

    init(old: [UInt64], new: [UInt64]) {
        self.increases = zip(old, new).map { old, new in new >= old ? new - old : nil }
    }

    /// The sum per counter (wrapping), `nil` for a counter any part lacks.
    static func sum(_ parts: [CounterDelta], count: Int) -> CounterDelta {
        parts.reduce(CounterDelta(increases: Array(repeating: 0, count: count))) { sum, part in
            CounterDelta(increases: zip(sum.increases, part.increases).map { lhs, rhs in
                guard let lhs, let rhs else { return nil }
                return lhs &+ rhs
            })
        }
    }

    /// Counter `index` per second over `seconds`.
    func perSecond(_ index: Int, over seconds: Double) -> Double? {
        self.increases[index].map { Double($0) / seconds }
    }
}

/// One sample of a named group of counters (a disk, an interface) that can be reported with rates.
protocol RatedCounters: Sendable {
    associatedtype Counters
    static var zero: Self { get }
    static func + (lhs: Self, rhs: Self) -> Self
    /// The raw counters as the document reports them, without rates.
    var counters: Counters { get }
    /// The counters that get a rate, in a fixed order.
    var rateCounters: [UInt64] { get }
    /// Sets the document's rate fields from increases in ``rateCounters`` order.
    static func applyRates(_ delta: CounterDelta, to counters: inout Counters, over seconds: Double)
}

/// Turns successive samples of named counter groups into per-entry counters with rates and a total.
///
/// Rates need an interval and an earlier sample; an entry that appeared since then has none. The
/// total's rates are the sum of the entries' increases, and only when the same entries are there as
/// before: one that came or went would make the sum jump.
struct RateTracker<Raw: RatedCounters>: Sendable {
    private var previous: [String: Raw]?

    mutating func update(_ current: [String: Raw], elapsed: Double?) -> (entries: [String: Raw.Counters], total: Raw.Counters) {
        let previous = self.previous
        self.previous = current
        let interval = elapsed.flatMap { $0.isFinite && $0 > 0 ? $0 : nil }
        let width = Raw.zero.rateCounters.count

        var entries: [String: Raw.Counters] = [:]
        var deltas: [String: CounterDelta] = [:]
        for (name, raw) in current {
            var counters = raw.counters
            if let interval, let old = previous?[name] {
                let delta = CounterDelta(old: old.rateCounters, new: raw.rateCounters)
                Raw.applyRates(delta, to: &counters, over: interval)
                deltas[name] = delta
            }
            entries[name] = counters
        }

        var total = current.values.reduce(Raw.zero, +).counters
        if let interval, let previous, Set(previous.keys) == Set(current.keys) {
            let sum = CounterDelta.sum(current.keys.map { deltas[$0] ?? .unknown(width) }, count: width)
            Raw.applyRates(sum, to: &total, over: interval)
        }
        return (entries, total)
    }
}
