import Foundation
import Hummingbird
import VigilAPI

/// `GET /api/cluster`: members, their load, and the leader, as this server last read them.
struct ClusterRoutes: Sendable {
    let state: ClusterState
    let gate: LeaderGate
    let backend: StorageKind
    /// This server as a member, for a cluster of one (SQLite, memory).
    let single: @Sendable () -> ClusterStatus.Member

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.get("cluster") { _, _ in try JSONResponse.make(self.status()) }
    }

    func status() -> ClusterStatus {
        let snapshot = self.state.snapshot
        guard snapshot.clustered else {
            var me = self.single()
            me.leader = true
            return ClusterStatus(memberID: snapshot.memberID, backend: self.backend.rawValue, clustered: false, leading: true,
                                 leader: .init(memberID: snapshot.memberID, epoch: 0), members: [me], problem: nil)
        }
        // This member's own election is known at once; another's only from the last heartbeat's read.
        let leader: ClusterStatus.Leader? = self.gate.currentEpoch.map { .init(memberID: snapshot.memberID, epoch: $0) }
            ?? snapshot.leader.map { .init(memberID: $0.memberID, epoch: $0.epoch) }
        let leaderID = self.gate.isLeader ? snapshot.memberID : snapshot.leader.flatMap { $0.leaseRemaining > 0 ? $0.memberID : nil }
        return ClusterStatus(
            memberID: snapshot.memberID, backend: self.backend.rawValue, clustered: true, leading: self.gate.isLeader,
            leader: leader,
            members: snapshot.members.map {
                ClusterStatus.Member(id: $0.id, agentAddress: $0.agentAddress, httpAddress: $0.httpAddress, load: $0.load, capacity: $0.capacity,
                                     startedAt: $0.startedAt, lastSeen: $0.lastSeen, leader: $0.id == leaderID)
            },
            problem: snapshot.problem
        )
    }
}
