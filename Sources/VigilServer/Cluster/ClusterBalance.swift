import VigilPostgres

/// Load sharing decisions over one view of the members table: where a member at capacity sends a
/// new agent, and how many agents the most loaded member sheds to the least loaded one. A pure
/// value (no clock, no I/O) so every rule is tested on plain numbers.
///
/// Loads compare as utilisation (agents / `cluster.capacity`) when every member states a capacity,
/// and as plain agent counts when any does not (capacity 0 means "no limit", which has no ratio).
struct ClusterBalance: Sendable, Equatable {
    /// Live members, this one included, with their last reported loads.
    var members: [ClusterMember]
    /// This server's member id.
    var me: String
    /// How far apart loads may be before the most loaded sheds: 0.10 means "within 10 %".
    var tolerance: Double

    /// Where to send a new agent when this member is at its capacity: the least-loaded other member
    /// with room, or `nil` (no capacity set, below it, or nobody has room: then this member takes it).
    ///
    /// - Parameters:
    ///   - load: this member's agents now (fresher than its row).
    ///   - capacity: this member's `cluster.capacity`.
    ///   - pending: agents already sent to each member since the rows were read, counted as its load.
    func redirectTarget(load: Int, capacity: Int, pending: [String: Int] = [:]) -> ClusterMember? {
        guard capacity > 0, load >= capacity else { return nil }
        return self.members
            .filter { $0.id != self.me }
            .map { member -> (ClusterMember, Int) in (member, member.load + pending[member.id, default: 0]) }
            .filter { member, load in member.capacity == 0 || load < member.capacity }
            .min { lhs, rhs in self.ranks(lhs.0, lhs.1, before: rhs.0, rhs.1) }?
            .0
    }

    /// What this member sheds now: only the most loaded member sheds (one at a time, so two members
    /// never both empty into the same third), toward the least loaded, when their loads are more
    /// than ``tolerance`` apart; as many agents as bring the pair level, at most `limit`.
    ///
    /// - Parameters:
    ///   - load: this member's agents now.
    ///   - limit: the most agents to move now (`cluster.shed_rate` × the time since the last shed).
    func shedding(load: Int, limit: Int) -> (count: Int, target: ClusterMember)? {
        guard limit > 0, self.members.count > 1, var mine = self.members.first(where: { $0.id == self.me }) else { return nil }
        mine.load = load
        let others = self.members.filter { $0.id != self.me }
        // Only the most loaded sheds (equal loads: the highest id); the others wait their turn.
        let heaviest = (others + [mine]).max { self.ranks($0, $0.load, before: $1, $1.load) }
        guard heaviest?.id == self.me,
              let target = others.filter({ $0.capacity == 0 || $0.load < $0.capacity }).min(by: { self.ranks($0, $0.load, before: $1, $1.load) })
        else { return nil }
        let (mineWeight, targetWeight) = self.weights(mine, target)
        // Within the tolerance: loadA / weightA <= (1 + tolerance) × loadB / weightB.
        guard Double(load) * targetWeight > (1 + self.tolerance) * Double(target.load) * mineWeight else { return nil }
        // Level the pair: after moving k, (load - k) / wA == (targetLoad + k) / wB.
        let level = (Double(load) * targetWeight - Double(target.load) * mineWeight) / (mineWeight + targetWeight)
        var count = min(Int(level.rounded(.down)), limit)
        if target.capacity > 0 { count = min(count, target.capacity - target.load) }
        return count > 0 ? (count, target) : nil
    }

    /// Whether every member states a capacity, so loads compare as ratios.
    private var byCapacity: Bool { self.members.allSatisfy { $0.capacity > 0 } }

    private func weights(_ a: ClusterMember, _ b: ClusterMember) -> (Double, Double) {
        self.byCapacity ? (Double(a.capacity), Double(b.capacity)) : (1, 1)
    }

    /// Less loaded first (by utilisation or count), then fewer agents, then the lower id.
    func ranks(_ a: ClusterMember, _ aLoad: Int, before b: ClusterMember, _ bLoad: Int) -> Bool {
        let (aWeight, bWeight) = self.weights(a, b)
        let (aShare, bShare) = (Double(aLoad) * bWeight, Double(bLoad) * aWeight)
        if aShare != bShare { return aShare < bShare }
        if aLoad != bLoad { return aLoad < bLoad }
        return a.id < b.id
    }
}
