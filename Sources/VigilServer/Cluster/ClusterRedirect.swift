/// Where a cluster member sends an agent instead of taking it, and why (the `redirect` answer's
/// `redirect_to` and `message`).
public struct ClusterRedirect: Sendable, Equatable {
    /// The other member's agent address, `host:port`.
    public var address: String
    public var reason: String
}
