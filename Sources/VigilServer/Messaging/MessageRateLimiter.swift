import Synchronization

/// One token bucket per sending client (`messages.rate_limit`, `messages.rate_burst`), kept across
/// its connections so reconnecting does not refill it.
final class MessageRateLimiter: Sendable {
    private let rate: Double
    private let burst: Double
    private let buckets = Mutex<[String: TokenBucket]>([:])

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// Takes one token for `clientID`. Returns `nil` when allowed (always, with a rate of 0),
    /// otherwise how long until a token is available.
    func take(_ clientID: String, now: ContinuousClock.Instant = .now) -> Duration? {
        guard self.rate > 0 else { return nil }
        return self.buckets.withLock { buckets in
            buckets[clientID, default: TokenBucket(burst: self.burst, now: now)].take(rate: self.rate, burst: self.burst, now: now)
        }
    }
}
