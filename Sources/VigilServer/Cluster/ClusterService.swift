import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VigilPostgres

/// This server's part in a cluster on PostgreSQL: it writes its member row every heartbeat,
/// reads who else is alive and who leads, and runs the leader election (``LeaderElection``),
/// opening or closing the ``LeaderGate`` that once-per-cluster work checks.
///
/// On shutdown it resigns (the next leader need not wait for the lease) and removes its row (it
/// is gone from `/api/cluster` at once, not after the member timeout).
final class ClusterService: Service {
    let store: PostgresStore
    let settings: ClusterSettings
    let state: ClusterState
    let gate: LeaderGate
    let election: LeaderElection
    let memberID: String
    private let sessions: RegisteredSessions
    private let agentAddress: String
    private let httpAddress: Mutex<String>
    private let startedAt = Date()
    private let logger: Logger

    init(store: PostgresStore, settings: ClusterSettings, memberID: String, agentAddress: String, httpAddress: String,
         sessions: RegisteredSessions, state: ClusterState, gate: LeaderGate, logger: Logger) {
        self.store = store
        self.settings = settings
        self.memberID = memberID
        self.agentAddress = agentAddress
        self.httpAddress = Mutex(httpAddress)
        self.sessions = sessions
        self.state = state
        self.gate = gate
        self.logger = logger
        self.election = LeaderElection(store: store, memberID: memberID, lease: settings.leaderLease, logger: logger)
    }

    /// The HTTP port is known only once the HTTP server is bound.
    func advertise(httpAddress: String) {
        self.httpAddress.withLock { $0 = httpAddress }
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.every(self.settings.electionInterval) { await self.elect() } }
                group.addTask { await self.every(self.settings.heartbeatInterval) { await self.beat() } }
            }
        } onGracefulShutdown: {
            // The loops end with the task group's cancellation below.
        }
        await self.election.resign()
        self.gate.follow()
        try? await self.store.leave(memberID: self.memberID)
    }

    private func elect() async {
        switch await self.election.step() {
        case .leader(let epoch): self.gate.lead(epoch: epoch)
        case .follower: self.gate.follow()
        }
    }

    private func beat() async {
        let member = ClusterMember(
            id: self.memberID, agentAddress: self.agentAddress, httpAddress: self.httpAddress.withLock { $0 },
            load: self.sessions.countsByKind[.agent] ?? 0, capacity: self.settings.capacity, startedAt: self.startedAt
        )
        do {
            try await self.store.beat(member)
            let members = try await self.store.liveMembers(timeout: self.settings.memberTimeout)
            let leader = try await self.store.leader()
            self.state.update {
                $0.members = members
                $0.leader = leader
                $0.lastContact = Date()
                $0.problem = nil
            }
        } catch {
            let wasFine = self.state.snapshot.problem == nil
            self.state.update { $0.problem = "\(error)" }
            if wasFine { self.logger.warning("cluster heartbeat failed: the database is unreachable", metadata: ["error": "\(error)"]) }
        }
    }

    /// Runs `body` every `interval` until shutdown (the task is cancelled) begins.
    private func every(_ interval: Duration, _ body: () async -> Void) async {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            await body()
            try? await Task.sleep(for: interval)
        }
    }
}
