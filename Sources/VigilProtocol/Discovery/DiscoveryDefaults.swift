/// Where discovery datagrams go unless configured otherwise: the servers' `cluster.discovery_group`
/// and `cluster.discovery_port`, and the clients' `--discovery-group` and `--discovery-port`.
public enum DiscoveryDefaults {
    /// An administratively scoped IPv4 multicast group (239.0.0.0/8 stays inside the site).
    public static let group = "239.255.255.250"
    public static let port = 5007
    /// The largest datagram a server reads by default (`cluster.discovery_max_datagram_bytes`); a
    /// `SERVER_DISCOVERY` needs a few hundred bytes.
    public static let maxDatagramBytes = 4096
}
