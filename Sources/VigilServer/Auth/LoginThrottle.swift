import Synchronization

/// Counts failed sign-ins per user name and per client address over a sliding window, and says how
/// long to wait once either count reaches its limit.
///
/// Unknown user names are counted like known ones, so the answers reveal nothing about which names
/// exist. Memory is bounded: at most `capacity` names and addresses are remembered, each with at
/// most its limit of failure times.
final class LoginThrottle: Sendable {
    private struct State {
        var failures: [String: [ContinuousClock.Instant]] = [:]
    }

    private let perUser: Int
    private let perAddress: Int
    private let window: Duration
    private let capacity: Int
    private let state = Mutex(State())

    init(settings: AuthSettings) {
        self.perUser = settings.loginFailuresPerUser
        self.perAddress = settings.loginFailuresPerAddress
        self.window = settings.loginFailureWindow
        self.capacity = settings.loginTrackingCapacity
    }

    private static func userKey(_ name: String) -> String { "u:" + name.lowercased() }
    private static func addressKey(_ address: String) -> String { "a:" + address }

    /// How long until a sign-in for `user` from `address` may be tried again, or `nil` when it may now.
    func retryAfter(user: String, address: String?, now: ContinuousClock.Instant = .now) -> Duration? {
        self.state.withLock { state in
            var waits: [Duration] = []
            if let wait = self.wait(state, Self.userKey(user), limit: self.perUser, now: now) { waits.append(wait) }
            if let address, let wait = self.wait(state, Self.addressKey(address), limit: self.perAddress, now: now) { waits.append(wait) }
            return waits.max()
        }
    }

    /// Starts a sign-in: atomically checks the limits and, when the attempt may go ahead, counts it
    /// as a failure at once, so concurrent attempts cannot all pass the check before any of them
    /// fails (20 parallel guesses must not get past a limit of 5). A successful attempt takes its
    /// count back with ``withdraw(user:address:at:)``.
    ///
    /// - Returns: The wait when refused (nothing is counted), or `nil` when the attempt may go ahead.
    func begin(user: String, address: String?, now: ContinuousClock.Instant = .now) -> Duration? {
        self.state.withLock { state in
            var waits: [Duration] = []
            if let wait = self.wait(state, Self.userKey(user), limit: self.perUser, now: now) { waits.append(wait) }
            if let address, let wait = self.wait(state, Self.addressKey(address), limit: self.perAddress, now: now) { waits.append(wait) }
            if let wait = waits.max() { return wait }
            self.append(&state, Self.userKey(user), limit: self.perUser, now: now)
            if let address { self.append(&state, Self.addressKey(address), limit: self.perAddress, now: now) }
            if state.failures.count > self.capacity { self.prune(&state, now: now) }
            return nil
        }
    }

    /// Takes back the count ``begin(user:address:now:)`` made at `at`, for an attempt that succeeded.
    func withdraw(user: String, address: String?, at: ContinuousClock.Instant) {
        self.state.withLock { state in
            for key in [Self.userKey(user)] + (address.map { [Self.addressKey($0)] } ?? []) {
                guard var times = state.failures[key], let index = times.lastIndex(of: at) else { continue }
                times.remove(at: index)
                state.failures[key] = times.isEmpty ? nil : times
            }
        }
    }

    private func wait(_ state: State, _ key: String, limit: Int, now: ContinuousClock.Instant) -> Duration? {
        guard let times = state.failures[key] else { return nil }
        let recent = times.filter { now - $0 < self.window }
        guard recent.count >= limit, let oldest = recent.suffix(limit).first else { return nil }
        return oldest + self.window - now
    }

    func recordFailure(user: String, address: String?, now: ContinuousClock.Instant = .now) {
        self.state.withLock { state in
            self.append(&state, Self.userKey(user), limit: self.perUser, now: now)
            if let address { self.append(&state, Self.addressKey(address), limit: self.perAddress, now: now) }
            if state.failures.count > self.capacity { self.prune(&state, now: now) }
        }
    }

    /// A successful sign-in clears the user's count (not the address's: one good account must not
    /// reset the count of an address trying many).
    func recordSuccess(user: String) {
        _ = self.state.withLock { $0.failures.removeValue(forKey: Self.userKey(user)) }
    }

    private func append(_ state: inout State, _ key: String, limit: Int, now: ContinuousClock.Instant) {
        var times = state.failures[key, default: []].filter { now - $0 < self.window }
        times.append(now)
        if times.count > limit { times.removeFirst(times.count - limit) }
        state.failures[key] = times
    }

    /// Forgets entries outside the window, then the oldest, down to 90 % of the capacity.
    private func prune(_ state: inout State, now: ContinuousClock.Instant) {
        state.failures = state.failures.filter { now - ($0.value.last ?? now) < self.window }
        let target = self.capacity * 9 / 10
        guard state.failures.count > target else { return }
        let oldest = state.failures.sorted { ($0.value.last ?? now) < ($1.value.last ?? now) }.prefix(state.failures.count - target)
        for (key, _) in oldest { state.failures.removeValue(forKey: key) }
    }

    /// Names and addresses remembered (for tests).
    var trackedCount: Int { self.state.withLock { $0.failures.count } }
}
