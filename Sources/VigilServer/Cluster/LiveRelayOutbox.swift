import Synchronization

/// What this member hands to the relay: the ingest, liveness, message and alert paths add items
/// without waiting (a short lock), and the relay's task takes them all each flush interval. Bounded
/// (`cluster.relay_max_pending`): past it items are skipped and counted rather than slowing ingest.
final class LiveRelayOutbox: Sendable {
    private struct State {
        var items: [LiveRelayItem] = []
        var skipped = 0
    }

    private let state = Mutex(State())
    let maxPending: Int

    init(maxPending: Int) {
        self.maxPending = maxPending
    }

    func add(_ item: LiveRelayItem) {
        self.state.withLock { state in
            if state.items.count < self.maxPending {
                state.items.append(item)
            } else {
                state.skipped += 1
            }
        }
    }

    /// Everything waiting, in order.
    func take() -> [LiveRelayItem] {
        self.state.withLock { state in
            defer { state.items.removeAll(keepingCapacity: true) }
            return state.items
        }
    }

    /// Items skipped because the outbox was full, since start.
    var skipped: Int { self.state.withLock { $0.skipped } }
}
