import Synchronization

/// A session's heartbeat schedule. A new interval (`SESSION_UPDATE`) starts a new schedule without
/// touching the connection; the previous one ends at its next wake-up instead of ticking.
final class HeartbeatTimer: Sendable {
    private let epoch = Atomic<UInt64>(0)

    /// A task body that calls `tick` every `interval` until a later ``schedule(every:tick:)``
    /// replaces it (or its task is cancelled).
    func schedule(every interval: Duration, tick: @escaping @Sendable () -> Void) -> @Sendable () async throws -> Void {
        let mine = self.epoch.wrappingAdd(1, ordering: .relaxed).newValue
        return { [self] in
            while true {
                try await Task.sleep(for: interval)
                guard self.epoch.load(ordering: .relaxed) == mine else { return }
                tick()
            }
        }
    }
}
