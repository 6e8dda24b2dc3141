import Synchronization

/// Runs a store call that may never return, and gives up waiting for it after a deadline.
///
/// A query on PostgresNIO's pool waits for a connection while the database is unreachable, with
/// no timeout of its own (postgres-nio issue #489), and a task group cannot leave a child behind:
/// it would wait for the stuck query too. So the call runs on a task of its own; the caller
/// resumes with its result or, at the deadline, with ``TimedOut`` while the call is cancelled and
/// left to finish whenever the database answers. Use it where waiting is worse than not knowing:
/// a health answer, a heartbeat that must notice the database is gone.
enum AbandonableCall {
    struct TimedOut: Error, CustomStringConvertible {
        let timeout: Duration
        var description: String { "the database did not answer within \(timeout.compactDescription)" }
    }

    static func run<T: Sendable>(timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let outcome = Outcome<T>()
        return try await withCheckedThrowingContinuation { continuation in
            outcome.install(continuation)
            let call = Task {
                do { outcome.finish(.success(try await operation())) } catch { outcome.finish(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: timeout)
                if outcome.finish(.failure(TimedOut(timeout: timeout))) { call.cancel() }
            }
        }
    }

    /// Resumes the continuation once, with whichever finishes first.
    private final class Outcome<T: Sendable>: Sendable {
        private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, done: Bool)>((nil, false))

        func install(_ continuation: CheckedContinuation<T, any Error>) {
            self.state.withLock { $0.continuation = continuation }
        }

        @discardableResult
        func finish(_ result: Result<T, any Error>) -> Bool {
            let continuation: CheckedContinuation<T, any Error>? = self.state.withLock { state in
                guard !state.done else { return nil }
                state.done = true
                defer { state.continuation = nil }
                return state.continuation
            }
            continuation?.resume(with: result)
            return continuation != nil
        }
    }
}
