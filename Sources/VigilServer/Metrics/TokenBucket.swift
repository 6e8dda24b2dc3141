/// A token bucket: `rate` tokens per second refill up to `burst`; each sample takes one.
///
/// Used per host for metrics ingest, so one host flooding cannot starve the writer for the others.
struct TokenBucket: Sendable {
    private(set) var tokens: Double
    private var updatedAt: ContinuousClock.Instant

    init(burst: Double, now: ContinuousClock.Instant) {
        self.tokens = burst
        self.updatedAt = now
    }

    /// Takes one token if there is one.
    ///
    /// - Returns: `nil` when taken; otherwise the time until a token is available.
    mutating func take(rate: Double, burst: Double, now: ContinuousClock.Instant) -> Duration? {
        let elapsed = now - self.updatedAt
        self.updatedAt = now
        self.tokens = min(burst, self.tokens + elapsed.seconds * rate)
        if self.tokens >= 1 {
            self.tokens -= 1
            return nil
        }
        return .seconds((1 - self.tokens) / rate)
    }
}
