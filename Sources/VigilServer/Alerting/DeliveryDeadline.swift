import Synchronization
import VigilAlerting

/// Runs one delivery with a hard deadline: whichever comes first, the channel's answer or the
/// deadline, decides. Unlike a task group (which waits for every child), a channel that ignores
/// cancellation cannot hold its worker past the deadline; its task is cancelled and left to end.
enum DeliveryDeadline {
    /// Resumes its continuation once, from whichever side finishes first.
    private final class Outcome: Sendable {
        private let pending = Mutex<CheckedContinuation<DeliveryFailure?, Never>?>(nil)
        /// The deadline's sleeping task, cancelled once the answer came first.
        let timer = Mutex<Task<Void, Never>?>(nil)

        func set(_ continuation: CheckedContinuation<DeliveryFailure?, Never>) {
            self.pending.withLock { $0 = continuation }
        }

        func finish(_ result: DeliveryFailure?) {
            let continuation = self.pending.withLock { pending in
                defer { pending = nil }
                return pending
            }
            continuation?.resume(returning: result)
        }
    }

    static func run(_ timeout: Duration, _ operation: @escaping @Sendable () async throws(DeliveryFailure) -> Void) async -> DeliveryFailure? {
        let outcome = Outcome()
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<DeliveryFailure?, Never>) in
            outcome.set(continuation)
            let work = Task {
                do throws(DeliveryFailure) {
                    try await operation()
                    outcome.finish(nil)
                } catch {
                    outcome.finish(error)
                }
            }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                guard !Task.isCancelled else { return }
                work.cancel()
                outcome.finish(.transient("no answer within \(timeout) (alerting.delivery_timeout)"))
            }
            outcome.timer.withLock { $0 = timer }
        }
        outcome.timer.withLock { $0?.cancel() }
        return result
    }
}
