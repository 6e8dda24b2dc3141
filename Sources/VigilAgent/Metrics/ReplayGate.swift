import Synchronization

/// Whether a session still takes replayed samples; the replay task checks it before handing one
/// over, and ends once it is closed (the session unregisters, or its server refuses `METRICS`).
final class ReplayGate: Sendable {
    private let state = Mutex(true)

    var isOpen: Bool { self.state.withLock { $0 } }

    func close() {
        self.state.withLock { $0 = false }
    }
}
