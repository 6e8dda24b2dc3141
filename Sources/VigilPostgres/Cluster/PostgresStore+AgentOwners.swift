import Foundation
import PostgresNIO
import VigilProtocol
import VigilAPI
import VigilStore

/// Which member holds each host (columns `agents.owner`, `agents.owner_seen`).
extension PostgresStore {
    /// Marks these hosts as held by `memberID` now (each heartbeat, for the hosts newly connected to it).
    ///
    /// - Returns: The hosts claimed. A host whose row is not written yet (its registration is still
    ///   being recorded) is not among them: claim it again at the next heartbeat, or it would stay
    ///   ownerless and look orphaned to the leader.
    @discardableResult
    public func claimAgents(_ hostnames: [String], memberID: String) async throws -> Set<String> {
        guard !hostnames.isEmpty else { return [] }
        var claimed: Set<String> = []
        for try await host in try await self.client.query(PostgresQuery(unsafeSQL: """
            UPDATE agents SET owner = $1, owner_seen = \(Self.databaseNow) WHERE hostname = ANY($2) RETURNING hostname
            """, binds: try Self.binds(memberID, hostnames)), logger: self.logger).decode(String.self) {
            claimed.insert(host)
        }
        return claimed
    }

    /// The hosts `memberID` held when it last beat (a restarted member with a stable id restores these).
    public func agentsOwned(by memberID: String) async throws -> Set<String> {
        var hosts: Set<String> = []
        for try await host in try await self.client.query("SELECT hostname FROM agents WHERE owner = \(memberID)", logger: self.logger)
            .decode(String.self) {
            hosts.insert(host)
        }
        return hosts
    }

    /// Declares DOWN, in one transaction, the hosts expected to be sending heartbeats whose holder
    /// is not among `liveMembers` and whose holder was last heard from (its member row, else the
    /// last claim) more than `grace` ago, on the database's clock: their server died and they did
    /// not reconnect elsewhere within the restart grace.
    /// Rows are locked, so a host claimed by another member meanwhile is not among them, nor is a
    /// host declared twice (its state is DOWN after). Returns the events stored.
    public func declareOrphansDown(liveMembers: [String], grace: Duration, excluding local: Set<String>, reason: String, at date: Date) async throws -> [LivenessEvent] {
        let expecting = LivenessState.allCases.filter(\.expectsHeartbeats).map(\.rawValue)
        return try await self.transaction { connection in
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT agents.* FROM agents LEFT JOIN cluster_members dead ON dead.id = agents.owner
                WHERE agents.state = ANY($1) AND (agents.owner IS NULL OR NOT (agents.owner = ANY($2)))
                  AND COALESCE(dead.last_seen, agents.owner_seen, agents.state_since) < \(Self.databaseNow) - $3
                ORDER BY agents.hostname FOR UPDATE OF agents SKIP LOCKED
                """, binds: try Self.binds(expecting, liveMembers, grace.seconds)), logger: self.logger).rows()
            var events: [LivenessEvent] = []
            for row in rows {
                let record = try Self.agent(from: row)
                guard !local.contains(record.hostname) else { continue }
                let at = date.timeIntervalSince1970
                let inserted = try await connection.query("""
                    INSERT INTO liveness_events(hostname, from_state, to_state, reason, at)
                    VALUES (\(record.hostname), \(record.state.rawValue), \(LivenessState.down.rawValue), \(reason), \(at)) RETURNING id
                    """, logger: self.logger).rows()
                try await connection.query(
                    "UPDATE agents SET state = \(LivenessState.down.rawValue), state_since = \(at), owner = NULL WHERE hostname = \(record.hostname)",
                    logger: self.logger)
                events.append(LivenessEvent(id: try inserted.first?.value("id", as: Int64.self), hostname: record.hostname,
                                            from: record.state, to: .down, reason: reason, at: date))
            }
            return events
        }
    }

}
