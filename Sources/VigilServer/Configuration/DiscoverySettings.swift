import NIOCore
import VigilProtocol

/// `cluster.discovery*`: the UDP service that tells envelope-only clients which member to connect
/// to (PROTOCOL.md §14). Every member listens; only the leader answers, so a cluster answers once.
public struct DiscoverySettings: Sendable, Equatable {
    /// Whether this server listens for `SERVER_DISCOVERY` (`cluster.discovery`; needs store.backend postgres).
    public var enabled = false
    /// The UDP port (`cluster.discovery_port`). Several servers on one host share it (SO_REUSEADDR):
    /// each gets every multicast and broadcast datagram.
    public var port = DiscoveryDefaults.port
    /// The IPv4 multicast group joined (`cluster.discovery_group`).
    public var group = DiscoveryDefaults.group
    /// The IPv4 address of the interface the group is joined on (`cluster.discovery_interface`);
    /// `0.0.0.0` lets the kernel choose (the interface of the route to the group, usually the default route).
    public var interface = "0.0.0.0"
    /// A longer datagram is ignored unread (`cluster.discovery_max_datagram_bytes`).
    public var maxDatagramBytes = DiscoveryDefaults.maxDatagramBytes
    /// Answers sent per second at most (`cluster.discovery_max_replies_per_second`), so forged
    /// source addresses cannot turn the leader into a flood reflector.
    public var maxRepliesPerSecond = 1000
    /// At most one log line per this interval about ignored datagrams or held-back answers
    /// (`cluster.discovery_log_interval`); the others are counted into the next line.
    public var logInterval: Duration = .seconds(10)

    public init() {}

    /// Checks the values together with the store they need.
    func validate(storage: StorageKind) throws {
        guard self.enabled else { return }
        guard storage == .postgres else {
            throw ConfigurationError(description: "cluster.discovery needs store.backend postgres: only a cluster's leader answers discovery")
        }
        guard let group = Self.ipv4(self.group), group.isMulticast else {
            throw ConfigurationError(description: "cluster.discovery_group must be an IPv4 multicast address (224.0.0.0 to 239.255.255.255), got \(self.group.logEscaped)")
        }
        guard self.logInterval >= .milliseconds(100) else {
            throw ConfigurationError(description: "cluster.discovery_log_interval must be at least 100ms (got \(self.logInterval.compactDescription))")
        }
        guard Self.ipv4(self.interface) != nil else {
            throw ConfigurationError(description: "cluster.discovery_interface must be the IPv4 address of an interface (or 0.0.0.0), got \(self.interface.logEscaped)")
        }
    }

    /// `text` as an IPv4 socket address, or `nil` when it is not a dotted-quad literal.
    static func ipv4(_ text: String, port: Int = 0) -> SocketAddress? {
        guard let address = try? SocketAddress(ipAddress: text, port: port), case .v4 = address else { return nil }
        return address
    }
}
