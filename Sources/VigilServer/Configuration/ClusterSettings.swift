/// `cluster.*`: how a server takes part in a cluster of servers sharing one PostgreSQL database.
public struct ClusterSettings: Sendable, Equatable {
    /// This member's id (`cluster.member_id`); by default the server id, else a new one per start.
    public var memberID: String?
    /// Where agents reach this server (`cluster.advertise_agent_address`, `host:port`); by default
    /// the agent listener's host (or this machine's name when it listens on every address) and port.
    public var advertiseAgentAddress: String?
    /// Where the HTTP API answers (`cluster.advertise_http_address`), likewise.
    public var advertiseHTTPAddress: String?
    /// The most agents this server takes before it redirects new ones (`cluster.capacity`; 0: no limit).
    public var capacity = 0
    /// How far apart members' loads may be before the most loaded sheds agents to the least loaded
    /// (`cluster.balance_tolerance`, a fraction: 0.1 is 10 %). Loads are agents per capacity when
    /// every member states one, else plain agent counts.
    public var balanceTolerance = 0.1
    /// The most agents a member sheds per second to balance loads (`cluster.shed_rate`; 0: never
    /// sheds, only new agents are redirected). Gradual, so a member that joins is not flooded.
    public var shedRate = 20
    /// How often the member row is written (`cluster.heartbeat_interval`).
    public var heartbeatInterval: Duration = .seconds(1)
    /// A member silent this long is dead (`cluster.member_timeout`).
    public var memberTimeout: Duration = .seconds(3)
    /// How often a follower tries to become the leader (`cluster.election_interval`): a crashed
    /// leader is replaced within about this long.
    public var electionInterval: Duration = .milliseconds(500)
    /// How long the leader's lease lasts without a renewal (`cluster.leader_lease`): a hung leader
    /// is replaced within about this long plus one election interval.
    public var leaderLease: Duration = .seconds(3)
    /// How members share their live view (`cluster.relay_*`).
    public var relay = LiveRelaySettings()
    /// UDP discovery for envelope-only clients (`cluster.discovery*`).
    public var discovery = DiscoverySettings()

    public init() {}
}
