import Synchronization

/// Counts failed sign-ins over a sliding window and says how long to wait before another try.
///
/// Three counts, each over `loginFailureWindow`:
/// - per address, across names (`loginFailuresPerAddress`): one client guessing many names;
/// - per (name, address) (`loginFailuresPerUser`): one client guessing one name;
/// - per name, across addresses (`loginFailuresPerUser`): once a name has that many failures it
///   is "under attack", and from then on an address that has failed for it may not try it again
///   (until its failures leave the window). An address that has not failed for the name still
///   may, so the right password from elsewhere signs in: a stranger cannot lock the admin out by
///   failing five times. Many addresses together get one guess each while the name is under attack.
///
/// Unknown user names are counted like known ones, so the answers reveal nothing about which names
/// exist. Memory is bounded: at most `capacity` keys are remembered, each with at most its limit
/// of failure times.
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
    /// A sign-in without a known address (not over HTTP) counts as one shared address.
    private static func pairKey(_ name: String, _ address: String?) -> String { "p:" + (address ?? "-") + "\u{0}" + name.lowercased() }

    /// How long until a sign-in for `user` from `address` may be tried again, or `nil` when it may now.
    func retryAfter(user: String, address: String?, now: ContinuousClock.Instant = .now) -> Duration? {
        self.state.withLock { self.wait($0, user: user, address: address, now: now) }
    }

    /// Starts a sign-in: atomically checks the limits and, when the attempt may go ahead, counts it
    /// as a failure at once, so concurrent attempts cannot all pass the check before any of them
    /// fails (20 parallel guesses must not get past a limit of 5). A successful attempt takes its
    /// count back with ``withdraw(user:address:at:)``.
    ///
    /// - Returns: The wait when refused (nothing is counted), or `nil` when the attempt may go ahead.
    func begin(user: String, address: String?, now: ContinuousClock.Instant = .now) -> Duration? {
        self.state.withLock { state in
            if let wait = self.wait(state, user: user, address: address, now: now) { return wait }
            self.count(&state, user: user, address: address, now: now)
            return nil
        }
    }

    /// Takes back the count ``begin(user:address:now:)`` made at `at`, for an attempt that succeeded.
    func withdraw(user: String, address: String?, at: ContinuousClock.Instant) {
        self.state.withLock { state in
            for key in [Self.userKey(user), Self.pairKey(user, address)] + (address.map { [Self.addressKey($0)] } ?? []) {
                guard var times = state.failures[key], let index = times.lastIndex(of: at) else { continue }
                times.remove(at: index)
                state.failures[key] = times.isEmpty ? nil : times
            }
        }
    }

    func recordFailure(user: String, address: String?, now: ContinuousClock.Instant = .now) {
        self.state.withLock { self.count(&$0, user: user, address: address, now: now) }
    }

    /// A successful sign-in clears the name's count and this address's count for the name (not
    /// the address's count across names: one good account must not reset the count of an
    /// address trying many; nor other addresses' counts for the name).
    func recordSuccess(user: String, address: String? = nil) {
        self.state.withLock { state in
            state.failures.removeValue(forKey: Self.userKey(user))
            state.failures.removeValue(forKey: Self.pairKey(user, address))
        }
    }

    private func wait(_ state: State, user: String, address: String?, now: ContinuousClock.Instant) -> Duration? {
        var waits: [Duration] = []
        if let address, let wait = self.wait(state, Self.addressKey(address), limit: self.perAddress, now: now) { waits.append(wait) }
        let pair = Self.pairKey(user, address)
        if let wait = self.wait(state, pair, limit: self.perUser, now: now) { waits.append(wait) }
        // The name is under attack: only addresses that have not failed for it may try it.
        if let nameWait = self.wait(state, Self.userKey(user), limit: self.perUser, now: now),
           let newest = self.recent(state, pair, now: now).last {
            waits.append(min(nameWait, newest + self.window - now))
        }
        return waits.max()
    }

    private func recent(_ state: State, _ key: String, now: ContinuousClock.Instant) -> [ContinuousClock.Instant] {
        (state.failures[key] ?? []).filter { now - $0 < self.window }
    }

    private func wait(_ state: State, _ key: String, limit: Int, now: ContinuousClock.Instant) -> Duration? {
        let recent = self.recent(state, key, now: now)
        guard recent.count >= limit, let oldest = recent.suffix(limit).first else { return nil }
        return oldest + self.window - now
    }

    private func count(_ state: inout State, user: String, address: String?, now: ContinuousClock.Instant) {
        self.append(&state, Self.userKey(user), limit: self.perUser, now: now)
        self.append(&state, Self.pairKey(user, address), limit: self.perUser, now: now)
        if let address { self.append(&state, Self.addressKey(address), limit: self.perAddress, now: now) }
        if state.failures.count > self.capacity { self.prune(&state, now: now) }
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

    /// Keys (names, addresses, name-address pairs) remembered (for tests).
    var trackedCount: Int { self.state.withLock { $0.failures.count } }
}
