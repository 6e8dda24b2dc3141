import Synchronization

/// One token bucket per sending client (`messages.rate_limit`, `messages.rate_burst`), kept across
/// its connections so reconnecting does not refill it. A reload may change the rate and burst; the
/// buckets keep their tokens.
final class MessageRateLimiter: Sendable {
    private struct State {
        var rate: Double
        var burst: Double
        var buckets: [String: TokenBucket] = [:]
    }

    private let state: Mutex<State>

    init(rate: Double, burst: Double) {
        self.state = Mutex(State(rate: rate, burst: burst))
    }

    /// The rate and burst in force.
    var limits: (rate: Double, burst: Double) { self.state.withLock { ($0.rate, $0.burst) } }

    /// New limits (a configuration reload).
    func update(rate: Double, burst: Double) {
        self.state.withLock { state in
            state.rate = rate
            state.burst = burst
        }
    }

    /// Takes one token for `clientID`. Returns `nil` when allowed (always, with a rate of 0),
    /// otherwise how long until a token is available.
    func take(_ clientID: String, now: ContinuousClock.Instant = .now) -> Duration? {
        self.state.withLock { state in
            guard state.rate > 0 else { return nil }
            let (rate, burst) = (state.rate, state.burst)
            return state.buckets[clientID, default: TokenBucket(burst: burst, now: now)].take(rate: rate, burst: burst, now: now)
        }
    }
}
