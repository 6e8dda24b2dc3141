import Foundation

/// One server of a cluster as the members table has it.
public struct ClusterMember: Sendable, Equatable, Codable {
    public var id: String
    /// Where agents connect (`host:port`), as the member advertises it.
    public var agentAddress: String
    /// Where the HTTP API answers (`host:port`).
    public var httpAddress: String
    /// Agents connected now.
    public var load: Int
    /// The most agents it takes before redirecting new ones (0: no limit).
    public var capacity: Int
    public var startedAt: Date
    /// When it last wrote its row, on the database's clock.
    public var lastSeen: Date

    public init(id: String, agentAddress: String, httpAddress: String, load: Int, capacity: Int, startedAt: Date, lastSeen: Date = Date(timeIntervalSince1970: 0)) {
        self.id = id
        self.agentAddress = agentAddress
        self.httpAddress = httpAddress
        self.load = load
        self.capacity = capacity
        self.startedAt = startedAt
        self.lastSeen = lastSeen
    }

    enum CodingKeys: String, CodingKey {
        case id, load, capacity
        case agentAddress = "agent_address"
        case httpAddress = "http_address"
        case startedAt = "started_at"
        case lastSeen = "last_seen"
    }
}
