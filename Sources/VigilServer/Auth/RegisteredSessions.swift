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
        /// Sends the client to another cluster member (`redirect`) and closes; `nil` for clients
        /// that did not list the `redirect` capability.
        var redirect: (@Sendable (_ address: String, _ reason: String) -> Void)?
    }

    private let entries = Mutex<[UInt64: Entry]>([:])
    /// Registered agents (not people's tools): the load a cluster member reports and balances.
    private let agents = Atomic<Int>(0)

    public init() {}

    /// Called when a session registers.
    func add(_ handle: ConnectionHandle, keyID: String?, clientID: String, kind: ClientKind, update: (@Sendable (ServerSettings) -> Void)? = nil,
             redirect: (@Sendable (_ address: String, _ reason: String) -> Void)? = nil) {
        let replaced = self.entries.withLock { $0.updateValue(Entry(keyID: keyID, clientID: clientID, kind: kind, handle: handle, update: update, redirect: redirect), forKey: handle.id) }
        if kind == .agent, replaced == nil { self.agents.add(1, ordering: .relaxed) }
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
        let removed = self.entries.withLock { $0.removeValue(forKey: connectionID) }
        if removed?.kind == .agent { self.agents.subtract(1, ordering: .relaxed) }
    }

    /// Agents registered now.
    var agentCount: Int { self.agents.load(ordering: .relaxed) }

    /// Up to `count` agents that follow redirects, the most recently registered first (they have
    /// the least settled there), to move to another member.
    func agentsToShed(_ count: Int) -> [(clientID: String, connectionID: UInt64, redirect: @Sendable (String, String) -> Void)] {
        self.entries.withLock { entries in
            let movable = entries.values.filter { $0.kind == .agent }.sorted { $0.handle.id > $1.handle.id }
            return movable.lazy
                .compactMap { entry in entry.redirect.map { (entry.clientID, entry.handle.id, $0) } }
                .prefix(count)
                .map { $0 }
        }
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
