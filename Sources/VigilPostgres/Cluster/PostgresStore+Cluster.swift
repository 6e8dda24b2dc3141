import Foundation
import PostgresNIO
import VigilProtocol

/// Cluster membership (table `cluster_members`): each server writes its row every heartbeat; a
/// row older than the member timeout, on the database's clock, is a dead member.
extension PostgresStore {
    /// The database's clock, in Unix seconds, as SQL.
    static let databaseNow = "extract(epoch from clock_timestamp())::double precision"

    /// Writes this member's row (creating it on the first beat) with the database's time.
    public func beat(_ member: ClusterMember) async throws {
        try await self.client.query(PostgresQuery(unsafeSQL: """
            INSERT INTO cluster_members(id, agent_address, http_address, load, capacity, started_at, last_seen)
            VALUES ($1, $2, $3, $4, $5, $6, \(Self.databaseNow))
            ON CONFLICT (id) DO UPDATE SET agent_address = excluded.agent_address, http_address = excluded.http_address,
              load = excluded.load, capacity = excluded.capacity, last_seen = excluded.last_seen
            """, binds: try Self.binds(member.id, member.agentAddress, member.httpAddress, Int64(member.load), Int64(member.capacity),
                                       member.startedAt.timeIntervalSince1970)), logger: self.logger)
    }

    /// Members heard from within `timeout`, by id.
    public func liveMembers(timeout: Duration) async throws -> [ClusterMember] {
        try await self.client.query(PostgresQuery(unsafeSQL: """
            SELECT * FROM cluster_members WHERE last_seen > \(Self.databaseNow) - $1 ORDER BY id
            """, binds: try Self.binds(timeout.seconds)), logger: self.logger).rows().map(Self.member(from:))
    }

    /// Removes a member's row (a clean shutdown: it is gone at once, not after the timeout), and
    /// starts its hosts' restart grace now (claims are written on change, so their last claim may
    /// be older).
    public func leave(memberID: String) async throws {
        try await self.transaction { connection in
            try await connection.query(PostgresQuery(unsafeSQL: """
                UPDATE agents SET owner_seen = \(Self.databaseNow) WHERE owner = $1
                """, binds: try Self.binds(memberID)), logger: self.logger)
            try await connection.query("DELETE FROM cluster_members WHERE id = \(memberID)", logger: self.logger)
        }
    }

    /// The leader row, if any server ever led.
    public func leader() async throws -> LeaderState? {
        try await self.client.query(PostgresQuery(unsafeSQL: """
            SELECT epoch, member_id, lease_until - \(Self.databaseNow) AS remaining FROM cluster_leader
            """), logger: self.logger).rows().first.map {
            LeaderState(epoch: try $0.value("epoch"), memberID: try $0.value("member_id"), leaseRemaining: try $0.value("remaining"))
        }
    }

    /// Whether `epoch` is still the leader's: a deposed leader's work checks this, in the same
    /// transaction as its writes where they must not land twice, and stops when it is not.
    public func isCurrentEpoch(_ epoch: Int64) async throws -> Bool {
        try await !self.client.query("SELECT 1 FROM cluster_leader WHERE epoch = \(epoch)", logger: self.logger).rows().isEmpty
    }

    static func binds(_ values: any PostgresEncodable...) throws -> PostgresBindings {
        var binds = PostgresBindings(capacity: values.count)
        for value in values { try binds.append(value) }
        return binds
    }

    static func member(from row: PostgresRandomAccessRow) throws -> ClusterMember {
        ClusterMember(
            id: try row.value("id"), agentAddress: try row.value("agent_address"), httpAddress: try row.value("http_address"),
            load: Int(try row.value("load", as: Int64.self)), capacity: Int(try row.value("capacity", as: Int64.self)),
            startedAt: try row.date("started_at"), lastSeen: try row.date("last_seen")
        )
    }
}
