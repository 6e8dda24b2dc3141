/// Exponential backoff with full jitter, as `vigil-agent` reconnects: a random delay between a floor
/// and a cap that doubles with each failed attempt, up to a maximum.
struct ClientBackoff {
    let initial: Duration
    let maximum: Duration
    private var attempt = 0

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    mutating func next() -> Duration {
        let cap = min(self.initial * (1 << min(self.attempt, 30)), self.maximum)
        self.attempt += 1
        // Never below a tenth of the initial delay: a zero delay would hammer a refusing server.
        let floor = Self.nanoseconds(self.initial / 10)
        return .nanoseconds(Int64.random(in: floor...max(floor, Self.nanoseconds(cap))))
    }

    mutating func reset() {
        self.attempt = 0
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
