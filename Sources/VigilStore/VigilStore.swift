#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything the server keeps, behind one backend-neutral protocol.
///
/// The embedded implementation is ``SQLiteStore``; a PostgreSQL one serves clusters. Methods are
/// `async` so implementations never block an event loop: callers on a NIO loop hop off to call them.
public protocol VigilStore: MessageStore, FileCatalog, UserStore, AlertStore, Sendable {
    /// A stable id for this server, created on first start.
    func serverID() async throws -> String

    // MARK: Agent keys

    /// Creates a key bound to a host and returns its token, which exists only in the return value.
    func createKey(hostname: String) async throws -> IssuedAgentKey
    /// Every key, newest first, revoked ones included.
    func listKeys() async throws -> [AgentKey]
    /// Revokes a key by id. Returns the key, or `nil` when no key has that id.
    func revokeKey(id: String) async throws -> AgentKey?
    /// Keys revoked after `since` (by anyone: another process or server on the same database), so
    /// their live sessions can be ended.
    func keysRevoked(since: Date) async throws -> [AgentKey]
    /// Checks a presented token and, when valid, records its use.
    func verifyKey(_ token: String) async throws -> KeyVerification
    /// Whether any unrevoked key is bound to the host (open enrollment must not take over such a name).
    func hasActiveKey(hostname: String) async throws -> Bool

    // MARK: Agents and liveness

    /// Inserts or replaces what is known about a host.
    func upsertAgent(_ record: AgentRecord) async throws
    func agents() async throws -> [AgentRecord]
    func agent(hostname: String) async throws -> AgentRecord?
    /// Stores events in order and moves each host's stored state along with them, atomically.
    /// Returns the events with their ids.
    @discardableResult
    func append(events: [LivenessEvent]) async throws -> [LivenessEvent]
    /// Most recent first; optionally for one host, optionally only events with `id < before`.
    func events(hostname: String?, limit: Int, before: Int64?) async throws -> [LivenessEvent]
    /// Records last-seen times, flushed in batches from memory.
    func updateLastSeen(_ entries: [String: Date]) async throws
}
