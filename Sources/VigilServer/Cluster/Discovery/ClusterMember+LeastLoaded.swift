import VigilPostgres

extension ClusterMember {
    /// The member a new client should go to: the lowest load/capacity ratio among the members
    /// below capacity (capacity 0, no limit, counts as ratio 0 and never full); ties go to the
    /// lower load, then the lower id, so every server picks the same one from the same rows.
    static func leastLoaded(of members: [ClusterMember]) -> ClusterMember? {
        members.filter(\.hasRoom).min { a, b in
            // load/capacity compared by cross-multiplying: exact, no division by zero.
            let left = a.load * max(b.capacity, 1) * (a.capacity == 0 ? 0 : 1)
            let right = b.load * max(a.capacity, 1) * (b.capacity == 0 ? 0 : 1)
            if left != right { return left < right }
            if a.load != b.load { return a.load < b.load }
            return a.id < b.id
        }
    }

    /// Below its capacity, or without a limit.
    var hasRoom: Bool { self.capacity == 0 || self.load < self.capacity }
}
