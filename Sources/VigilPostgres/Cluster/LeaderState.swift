/// Who leads the cluster, as the `cluster_leader` row says.
public struct LeaderState: Sendable, Equatable, Codable {
    /// Grows by one with every new leader: work done under an older epoch is refused (fencing).
    public var epoch: Int64
    public var memberID: String
    /// Seconds until the lease ends without a renewal (negative: overdue), on the database's clock.
    public var leaseRemaining: Double

    public init(epoch: Int64, memberID: String, leaseRemaining: Double) {
        self.epoch = epoch
        self.memberID = memberID
        self.leaseRemaining = leaseRemaining
    }

    enum CodingKeys: String, CodingKey {
        case epoch
        case memberID = "member_id"
        case leaseRemaining = "lease_remaining"
    }
}
