/// Exponential backoff with full jitter (a random delay between a floor and the current cap), as AWS's
/// architecture blog recommends: it spreads a fleet's reconnects after a server restart instead of
/// having every agent arrive in the same instant. `vigil-agent` and the people's tools share it.
public struct ReconnectBackoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    private var attempt = 0

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before the next attempt; each call doubles the cap up to ``maximum``.
    public mutating func next<R: RandomNumberGenerator>(using rng: inout R) -> Duration {
        let cap = min(self.initial * (1 << min(self.attempt, 30)), self.maximum)
        self.attempt += 1
        // Never below a tenth of the initial delay: a zero delay would hammer a refusing server.
        let floor = self.initial / 10
        let nanos = Int64(cap.components.seconds) * 1_000_000_000 + cap.components.attoseconds / 1_000_000_000
        let floorNanos = Int64(floor.components.seconds) * 1_000_000_000 + floor.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: floorNanos...max(floorNanos, nanos), using: &rng))
    }

    public mutating func next() -> Duration {
        var rng = SystemRandomNumberGenerator()
        return self.next(using: &rng)
    }

    /// After a successful registration: the next failure starts from the initial delay again.
    public mutating func reset() {
        self.attempt = 0
    }
}
