import Synchronization

/// Bytes of file data read from the socket and not yet written to disk, with a ceiling: the
/// session's reader waits at the ceiling, so the socket stops being read (TCP backpressure) instead
/// of memory growing while the disk is slower than the network.
final class ByteBudget: Sendable {
    private struct State {
        var used = 0
        var waiters: [(id: UInt64, bytes: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var nextID: UInt64 = 0
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes `bytes`, waiting while the budget is spent (never when nothing is in use, so one
    /// frame larger than the limit still passes). Returns at once when the task is cancelled.
    func acquire(_ bytes: Int) async {
        let id = self.state.withLock { state -> UInt64? in
            if state.used == 0 || state.used + bytes <= self.limit {
                state.used += bytes
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let admitted = self.state.withLock { state -> Bool in
                    if Task.isCancelled || state.used == 0 || state.used + bytes <= self.limit {
                        state.used += bytes
                        return true
                    }
                    state.waiters.append((id, bytes, continuation))
                    return false
                }
                if admitted { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                let waiter = state.waiters.remove(at: index)
                state.used += waiter.bytes  // released by the caller like any other
                return waiter.continuation
            }
            waiter?.resume()
        }
    }

    /// Gives `bytes` back and lets waiting readers in, in order.
    func release(_ bytes: Int) {
        let admitted = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.used = max(0, state.used - bytes)
            var admitted: [CheckedContinuation<Void, Never>] = []
            while let first = state.waiters.first, state.used == 0 || state.used + first.bytes <= self.limit {
                state.waiters.removeFirst()
                state.used += first.bytes
                admitted.append(first.continuation)
            }
            return admitted
        }
        admitted.forEach { $0.resume() }
    }
}
