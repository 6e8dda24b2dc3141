import Synchronization

/// Whether this server leads now, for the work that must happen once per cluster (retention of
/// history, messages and alert records). A single server (SQLite, memory) always leads, at epoch 0.
public final class LeaderGate: Sendable {
    /// The epoch this server leads at, or -1 while it follows.
    private let epoch: Atomic<Int64>

    /// - Parameter leading: Whether it starts as the leader (a single server) or a follower.
    public init(leading: Bool = true) {
        self.epoch = Atomic(leading ? 0 : -1)
    }

    public var isLeader: Bool { self.epoch.load(ordering: .acquiring) >= 0 }

    /// The epoch it leads at, or `nil` while it follows.
    public var currentEpoch: Int64? {
        let epoch = self.epoch.load(ordering: .acquiring)
        return epoch >= 0 ? epoch : nil
    }

    func lead(epoch: Int64) { self.epoch.store(epoch, ordering: .releasing) }
    func follow() { self.epoch.store(-1, ordering: .releasing) }
}
