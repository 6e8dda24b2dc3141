import Foundation
import Synchronization
import VigilPostgres

/// What this server last learned of its cluster, for `/api/cluster` and the health answer.
public final class ClusterState: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var memberID: String
        public var clustered: Bool
        public var members: [ClusterMember]
        public var leader: LeaderState?
        /// The last time the database answered a heartbeat.
        public var lastContact: Date?
        /// Why the last heartbeat failed, while it fails.
        public var problem: String?
    }

    private let state: Mutex<Snapshot>

    init(memberID: String, clustered: Bool) {
        self.state = Mutex(Snapshot(memberID: memberID, clustered: clustered, members: [], leader: nil, lastContact: nil, problem: nil))
    }

    public var snapshot: Snapshot { self.state.withLock { $0 } }

    func update(_ change: (inout Snapshot) -> Void) {
        self.state.withLock { change(&$0) }
    }
}
