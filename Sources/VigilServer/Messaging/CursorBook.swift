import Synchronization

/// Every client's cursor as acknowledgements move it, ahead of the store: sessions record each move
/// here on their event loop, the writer persists the changed ones in its next transaction.
///
/// While the server runs this is the authority: a client that reconnects before its last
/// acknowledgements reached the store starts from here, so it is not sent again what it acknowledged.
final class CursorBook: Sendable {
    private struct State {
        var cursors: [String: Int64] = [:]
        var dirty: Set<String> = []
    }

    private let state = Mutex(State())

    /// Moves a client's cursor forward (never back).
    func advance(_ clientID: String, to cursor: Int64) {
        self.state.withLock { state in
            if let current = state.cursors[clientID], current >= cursor { return }
            state.cursors[clientID] = cursor
            state.dirty.insert(clientID)
        }
    }

    /// The cursor recorded here, if any.
    func cursor(of clientID: String) -> Int64? {
        self.state.withLock { $0.cursors[clientID] }
    }

    /// The cursors changed since the last call, to persist.
    func takeDirty() -> [String: Int64] {
        self.state.withLock { state in
            guard !state.dirty.isEmpty else { return [:] }
            var changed: [String: Int64] = [:]
            for clientID in state.dirty { changed[clientID] = state.cursors[clientID] }
            state.dirty.removeAll(keepingCapacity: true)
            return changed
        }
    }

    /// Marks cursors changed again (their write failed).
    func restore(_ cursors: [String: Int64]) {
        self.state.withLock { state in
            for clientID in cursors.keys where state.cursors[clientID] != nil {
                state.dirty.insert(clientID)
            }
        }
    }

    var hasDirty: Bool { self.state.withLock { !$0.dirty.isEmpty } }
}
