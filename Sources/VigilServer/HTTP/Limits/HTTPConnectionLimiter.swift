import Logging
import Synchronization

/// Counts open HTTP connections across all event loops and says whether one more may stay.
///
/// A connection over the limit is closed right after accept: its descriptor is given back at once
/// instead of being held by a client that may never send anything, so the agent listener keeps the
/// descriptors it needs however many HTTP connections are attempted.
final class HTTPConnectionLimiter: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    /// When the last "refused" line was logged (seconds of the continuous clock), so a flood is
    /// one line a minute rather than one per connection.
    private let lastLogged = Mutex<ContinuousClock.Instant?>(nil)
    private let logger: Logger

    init(limit: Int, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    /// Counts a new connection. Returns `false` (and counts nothing) when the limit is reached.
    func acquire() -> Bool {
        let opened = self.open.wrappingAdd(1, ordering: .relaxed).newValue
        guard opened > self.limit else { return true }
        self.open.wrappingSubtract(1, ordering: .relaxed)
        let total = self.refused.wrappingAdd(1, ordering: .relaxed).newValue
        let now = ContinuousClock.now
        let due = self.lastLogged.withLock { last in
            guard last.map({ now - $0 >= .seconds(60) }) ?? true else { return false }
            last = now
            return true
        }
        if due {
            self.logger.warning("HTTP connection refused: http.max_connections reached", metadata: [
                "limit": "\(self.limit)", "refused_total": "\(total)",
            ])
        }
        return false
    }

    /// Gives back a connection counted by ``acquire()``.
    func release() {
        self.open.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Connections open now.
    var current: Int { self.open.load(ordering: .relaxed) }
    /// Connections refused since start.
    var refusedCount: Int { self.refused.load(ordering: .relaxed) }
}
