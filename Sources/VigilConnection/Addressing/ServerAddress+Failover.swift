extension ServerAddress {
    /// The servers a client may connect to, in order: the configured ones, then those a cluster's
    /// register reply named (`session.servers`), each once.
    public static func candidates(configured: [ServerAddress], learned: [ServerAddress]) -> [ServerAddress] {
        var servers: [ServerAddress] = []
        for server in configured + learned where !servers.contains(server) { servers.append(server) }
        return servers
    }

    /// Where to go after a session with `current` that lasted has ended: another of `servers`, at
    /// random, so the clients of a dead cluster member spread over the rest instead of all landing
    /// on the next one in a list. `0` when there is no other.
    public static func failoverIndex(after current: ServerAddress, in servers: [ServerAddress]) -> Int {
        servers.indices.filter { servers[$0] != current }.randomElement() ?? 0
    }
}
