import VigilPostgres

extension ClusterBalance {
    /// The member a discovering client should go to: the least loaded with room, this one
    /// included, ranked as redirects rank them (agents per capacity when every member states a
    /// capacity, else agent counts; then fewer agents, then the lower id), so discovery and
    /// redirects agree on who has room.
    var discoveryTarget: ClusterMember? {
        self.members
            .filter { $0.capacity == 0 || $0.load < $0.capacity }
            .min { self.ranks($0, $0.load, before: $1, $1.load) }
    }
}
