import Synchronization
import VigilProtocol

/// Every registered agent-port session by the key it presented and by the client it is, so that
/// revoking a key or removing a user ends the sessions that rely on it at once, not at their next
/// reconnect.
public final class RegisteredSessions: Sendable {
    private struct Entry: Sendable {
        var keyID: String?
        var clientID: String
        var kind: ClientKind
        var handle: ConnectionHandle
        /// Sends `SESSION_UPDATE` with the parameters of new settings; `nil` for clients that did
        /// not list the capability.
        var update: (@Sendable (ServerSettings) -> Void)?
    }

    private let entries = Mutex<[UInt64: Entry]>([:])

    public init() {}

    /// Called when a session registers.
    func add(_ handle: ConnectionHandle, keyID: String?, clientID: String, kind: ClientKind, update: (@Sendable (ServerSettings) -> Void)? = nil) {
        self.entries.withLock { $0[handle.id] = Entry(keyID: keyID, clientID: clientID, kind: kind, handle: handle, update: update) }
    }

    /// Tells every session that can take it (capability `session_update`) the parameters of
    /// `settings` (`SESSION_UPDATE`). Returns how many were told.
    @discardableResult
    func sendUpdate(_ settings: ServerSettings) -> Int {
        let updates = self.entries.withLock { entries in entries.values.compactMap(\.update) }
        // Outside the lock: each write goes through its connection's event loop.
        for update in updates { update(settings) }
        return updates.count
    }

    /// Called when its connection closes.
    func remove(connectionID: UInt64) {
        self.entries.withLock { _ = $0.removeValue(forKey: connectionID) }
    }

    /// Closes every session registered with the key, answering `revoked_key` with the reason.
    ///
    /// - Returns: How many sessions were told to close.
    @discardableResult
    public func closeSessions(usingKey keyID: String, reason: String) -> Int {
        self.close(where: { $0.keyID == keyID }, code: .revokedKey, reason: reason)
    }

    /// Closes every session of a person's tool registered as `name` (a removed user).
    @discardableResult
    public func closeSessions(ofUser name: String, reason: String) -> Int {
        self.close(where: { $0.kind == .user && $0.clientID == name }, code: .revokedKey, reason: reason)
    }

    /// Registered sessions by client kind, for `/metrics`.
    var countsByKind: [ClientKind: Int] {
        self.entries.withLock { entries in
            var counts: [ClientKind: Int] = [:]
            for entry in entries.values { counts[entry.kind, default: 0] += 1 }
            return counts
        }
    }

    /// Whether any open session registered with a key (the revocation check polls only then).
    /// Stops at the first such session: with keyed agents that is the first one looked at.
    var hasKeyedSessions: Bool {
        self.entries.withLock { $0.values.contains { $0.keyID != nil } }
    }

    private func close(where matches: (Entry) -> Bool, code: ErrorCode, reason: String) -> Int {
        let handles = self.entries.withLock { entries in
            entries.values.filter(matches).map(\.handle)
        }
        // Outside the lock: closing goes through the connection's event loop.
        for handle in handles { handle.close(code, reason) }
        return handles.count
    }
}
