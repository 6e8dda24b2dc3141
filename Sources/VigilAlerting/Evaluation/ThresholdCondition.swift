/// One series of one host under one threshold rule: its window and where its alert stands.
/// A pure state machine: each new sample returns the status change it causes, if any.
public struct ThresholdCondition: Sendable {
    public enum Phase: Sendable, Equatable {
        case inactive
        /// Breaching since `since` (milliseconds), not yet for the rule's `for`.
        case pending(since: Int64)
        /// Fired at `since`.
        case firing(since: Int64)
    }

    public private(set) var window: RollingWindow
    public private(set) var phase: Phase = .inactive

    public init(window milliseconds: Int64) {
        self.window = RollingWindow(milliseconds: milliseconds)
    }

    /// The change a sample causes: the new status and the aggregated value that caused it.
    public struct Change: Sendable, Equatable {
        public var status: AlertStatus
        /// The status before (a pending alert that stops breaching resolves from `pending`).
        public var previous: AlertStatus
        public var value: Double
    }

    /// Takes one sample and returns the change it causes, if any.
    ///
    /// - `inactive` → `pending` when the aggregate breaches the threshold (→ `firing` at once when `for` is 0);
    /// - `pending` → `firing` once it has breached for `for`; → `resolved` as soon as it stops breaching
    ///   (a pending alert was never announced, so no hysteresis applies);
    /// - `firing` → `resolved` only once the aggregate is past the recovery threshold.
    public mutating func observe(_ value: Double, at time: Int64, rule: CompiledRule) -> Change? {
        self.window.add(value, at: time)
        guard let aggregate = self.window.value(rule.aggregate) else { return nil }
        switch self.phase {
        case .inactive:
            guard rule.op.breaches(aggregate, rule.threshold) else { return nil }
            if rule.forMilliseconds == 0 {
                self.phase = .firing(since: time)
                return Change(status: .firing, previous: .resolved, value: aggregate)
            }
            self.phase = .pending(since: time)
            return Change(status: .pending, previous: .resolved, value: aggregate)
        case .pending(let since):
            guard rule.op.breaches(aggregate, rule.threshold) else {
                self.phase = .inactive
                return Change(status: .resolved, previous: .pending, value: aggregate)
            }
            guard time - since >= rule.forMilliseconds else { return nil }
            self.phase = .firing(since: time)
            return Change(status: .firing, previous: .pending, value: aggregate)
        case .firing:
            guard rule.op.recovers(aggregate, rule.recovery) else { return nil }
            self.phase = .inactive
            return Change(status: .resolved, previous: .firing, value: aggregate)
        }
    }

    /// Ends the alert without a sample (the rule changed or went away): the change to report, if it was active.
    public mutating func reset() -> AlertStatus? {
        defer { self.phase = .inactive }
        switch self.phase {
        case .inactive: return nil
        case .pending: return .pending
        case .firing: return .firing
        }
    }
}

extension ThresholdCondition {
    /// Starts in `firing` (an alert restored after a restart); its window fills from the next samples.
    mutating func restoreFiring(since: Int64) {
        self.phase = .firing(since: since)
    }
}
