#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET /api/cluster`: the servers sharing this one's database, their load, and the leader.
/// A server on SQLite (or in memory) is a cluster of one that always leads.
public struct ClusterStatus: Codable, Sendable, Equatable {
    public struct Member: Codable, Sendable, Equatable {
        public var id: String
        public var agentAddress: String
        public var httpAddress: String
        /// Agents connected now.
        public var load: Int
        /// Agents it takes before redirecting (0: no limit).
        public var capacity: Int
        public var startedAt: Date
        public var lastSeen: Date
        public var leader: Bool

        public init(id: String, agentAddress: String, httpAddress: String, load: Int, capacity: Int, startedAt: Date, lastSeen: Date, leader: Bool) {
            self.id = id
            self.agentAddress = agentAddress
            self.httpAddress = httpAddress
            self.load = load
            self.capacity = capacity
            self.startedAt = startedAt
            self.lastSeen = lastSeen
            self.leader = leader
        }

        enum CodingKeys: String, CodingKey {
            case id, load, capacity, leader
            case agentAddress = "agent_address"
            case httpAddress = "http_address"
            case startedAt = "started_at"
            case lastSeen = "last_seen"
        }
    }

    public struct Leader: Codable, Sendable, Equatable {
        public var memberID: String
        /// Grows with every change of leader; work of an older epoch is refused.
        public var epoch: Int64

        public init(memberID: String, epoch: Int64) {
            self.memberID = memberID
            self.epoch = epoch
        }

        enum CodingKeys: String, CodingKey {
            case epoch
            case memberID = "member_id"
        }
    }

    /// This server's member id.
    public var memberID: String
    /// `sqlite`, `memory` or `postgres`.
    public var backend: String
    /// Whether servers share the database (PostgreSQL); otherwise a cluster of one.
    public var clustered: Bool
    /// Whether this server leads now.
    public var leading: Bool
    public var leader: Leader?
    /// Live members (heard from within the member timeout), by id.
    public var members: [Member]
    /// Why this server cannot reach the database now, while it cannot.
    public var problem: String?

    public init(memberID: String, backend: String, clustered: Bool, leading: Bool, leader: Leader?, members: [Member], problem: String?) {
        self.memberID = memberID
        self.backend = backend
        self.clustered = clustered
        self.leading = leading
        self.leader = leader
        self.members = members
        self.problem = problem
    }

    enum CodingKeys: String, CodingKey {
        case backend, clustered, leading, leader, members, problem
        case memberID = "member_id"
    }
}
