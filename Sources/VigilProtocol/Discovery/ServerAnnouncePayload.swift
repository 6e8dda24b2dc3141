/// `SERVER_ANNOUNCE.payload`: the member a discovering client should connect to.
public struct ServerAnnouncePayload: Sendable, Equatable, Codable {
    /// The member's agent listener host, as the member advertises it (`cluster.advertise_agent_address`).
    public var assignedHost: String
    /// Its agent (TCP) port.
    public var assignedTCPPort: Int
    /// The member's id (`cluster.member_id`).
    public var serverID: String

    public init(assignedHost: String, assignedTCPPort: Int, serverID: String) {
        self.assignedHost = assignedHost
        self.assignedTCPPort = assignedTCPPort
        self.serverID = serverID
    }

    enum CodingKeys: String, CodingKey {
        case assignedHost = "assigned_host"
        case assignedTCPPort = "assigned_tcp_port"
        case serverID = "server_id"
    }
}
