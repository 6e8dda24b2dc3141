/// The whole of an operation ran past its time limit.
struct TimeLimitExceeded: Error {
    var limit: Duration
}

/// Runs `operation`, cancelling it when `limit` passes first (and then throwing ``TimeLimitExceeded``).
///
/// Channels bound every delivery with this, so a receiver that accepts the connection and then
/// never answers (or trickles a response forever) cannot hold the dispatcher's worker past the
/// channel's timeout, whatever the lower layers' own timers do.
func withTimeLimit<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimeLimitExceeded(limit: limit) }
        return value
    }
}
