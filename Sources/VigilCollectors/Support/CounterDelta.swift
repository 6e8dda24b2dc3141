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
