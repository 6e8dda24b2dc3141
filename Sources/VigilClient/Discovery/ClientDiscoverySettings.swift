import VigilProtocol

/// Where and how long ``ServerDiscovery`` asks; each limit is named here with its default.
public struct ClientDiscoverySettings: Sendable {
    /// Where `SERVER_DISCOVERY` goes: the servers' multicast group (`cluster.discovery_group`), a
    /// broadcast address such as 255.255.255.255, or one server's IPv4 address.
    public var group = DiscoveryDefaults.group
    /// The servers' `cluster.discovery_port`.
    public var port = DiscoveryDefaults.port
    /// The IPv4 address of the interface multicast goes out on (IP_MULTICAST_IF); `nil`: the
    /// kernel's choice (the route to the group). `127.0.0.1` reaches servers on this host.
    public var interface: String?
    /// The name in `sender_id` (informational: the servers answer anyone).
    public var name: String
    /// How long to wait for a `SERVER_ANNOUNCE` in all.
    public var timeout: Duration = .seconds(3)
    /// The request is sent again this often while no answer came (a datagram may be lost, and
    /// right after a leader died nobody answers until the next one is elected).
    public var resendInterval: Duration = .milliseconds(500)
    /// The largest answer read, in bytes.
    public var maxDatagramBytes = DiscoveryDefaults.maxDatagramBytes

    public init(name: String) {
        self.name = name
    }
}
