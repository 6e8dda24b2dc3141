/// Lets one log line through per interval and counts the ones held back, so a flood of bad
/// datagrams costs one line per interval, not one per datagram.
struct DiscoveryLogThrottle: Sendable {
    let interval: Duration
    private var lastLogged: ContinuousClock.Instant?
    private var heldBack = 0

    init(interval: Duration) {
        self.interval = interval
    }

    /// - Returns: `nil` to hold this occurrence back; otherwise log it, with the number held back
    ///   since the previous logged one.
    mutating func admit(now: ContinuousClock.Instant) -> Int? {
        if let last = self.lastLogged, now - last < self.interval {
            self.heldBack += 1
            return nil
        }
        defer { self.heldBack = 0 }
        self.lastLogged = now
        return self.heldBack
    }
}
