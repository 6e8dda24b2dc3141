import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VigilPostgres
import VigilProtocol
import VigilStore

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
    /// Redirects and shedding; `nil` only in tests that run membership alone.
    private let loadSharing: LoadSharing?
    private let tracker: LivenessTracker
    /// How long a host whose server died has to reconnect elsewhere before the leader declares it DOWN.
    private let restartGrace: Duration
    /// Hands DOWN events the leader stored to the same fan-out as the local recorder's (stream, alerts, notices).
    private let publish: @Sendable (LivenessEvent) -> Void
    private let agentAddress: String
    private let httpAddress: Mutex<String>
    private let startedAt = Date()
    /// The hosts last claimed, and heartbeats since the last full claim: a beat writes only the
    /// hosts newly connected here, and every ``fullClaimEvery`` beats all of them again (a host
    /// that left and came back between two beats is then claimed too).
    private let claims = Mutex<(claimed: Set<String>, beats: Int)>(([], 0))
    /// Beats between two claims of every connected host (10 s at the default 1 s heartbeat).
    static let fullClaimEvery = 10
    private let logger: Logger

    init(store: PostgresStore, settings: ClusterSettings, memberID: String, agentAddress: String, httpAddress: String,
         sessions: RegisteredSessions, tracker: LivenessTracker, restartGrace: Duration, state: ClusterState, gate: LeaderGate,
         loadSharing: LoadSharing? = nil, logger: Logger, publish: @escaping @Sendable (LivenessEvent) -> Void) {
        self.loadSharing = loadSharing
        self.tracker = tracker
        self.restartGrace = restartGrace
        self.publish = publish
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
        try? await self.store.leave(memberID: self.memberID)  // its hosts' grace starts now
    }

    private func elect() async {
        switch await self.election.step() {
        case .leader(let epoch): self.gate.lead(epoch: epoch)
        case .follower: self.gate.follow()
        }
    }

    /// Set while a heartbeat's queries run, also after ``beat()`` stopped waiting for them.
    private let beatInFlight = Atomic<Bool>(false)
    /// After the database was unreachable, the leader does not sweep for orphans until every
    /// member has had time to write its row again: until then the rows' ages say "dead" of members
    /// that were only cut off from the database like this one, and their hosts would go DOWN.
    private let sweepPausedUntil = Mutex<Date?>(nil)

    /// One heartbeat, bounded by `cluster.member_timeout`: with the database unreachable a query
    /// may wait for a connection indefinitely, and this server must still say the database is
    /// gone (`/api/cluster`, `/api/health`). A beat abandoned that way keeps its place: no second
    /// one starts until it has returned.
    private func beat() async {
        guard !self.beatInFlight.exchange(true, ordering: .acquiringAndReleasing) else {
            self.noteProblem("the database has not answered since \(self.state.snapshot.lastContact.map { "\($0)" } ?? "this server started")")
            return
        }
        do {
            try await AbandonableCall.run(timeout: self.settings.memberTimeout) {
                defer { self.beatInFlight.store(false, ordering: .releasing) }
                try await self.exchangeBeat()
            }
        } catch {
            self.noteProblem("\(error)")
        }
    }

    private func noteProblem(_ problem: String) {
        let wasFine = self.state.snapshot.problem == nil
        self.state.update { $0.problem = problem }
        if wasFine { self.logger.warning("cluster heartbeat failed: the database is unreachable", metadata: ["error": "\(problem)"]) }
    }

    /// Writes this member's row and claims, reads the members and the leader; the leader sweeps.
    private func exchangeBeat() async throws {
        let member = ClusterMember(
            id: self.memberID, agentAddress: self.agentAddress, httpAddress: self.httpAddress.withLock { $0 },
            load: self.sessions.agentCount, capacity: self.settings.capacity, startedAt: self.startedAt
        )
        let connected = Set(self.tracker.unsortedStatuses().filter(\.connected).map(\.hostname))
        try await self.store.beat(member)
        let (claimed, beats) = self.claims.withLock { $0 }
        let claim = beats % Self.fullClaimEvery == 0 ? connected : connected.subtracting(claimed)
        try await self.store.claimAgents(claim.sorted(), memberID: self.memberID)
        self.claims.withLock { $0 = (connected, beats + 1) }
        let members = try await self.store.liveMembers(timeout: self.settings.memberTimeout)
        let leader = try await self.store.leader()
        if self.state.snapshot.problem != nil {
            self.sweepPausedUntil.withLock { $0 = Date() + (self.settings.memberTimeout + self.settings.heartbeatInterval).seconds }
        }
        let sweepPaused = self.sweepPausedUntil.withLock { until in until.map { Date() < $0 } ?? false }
        if self.gate.isLeader, !sweepPaused {
            try await self.sweepOrphans(liveMembers: members.map(\.id), connected: connected)
        }
        self.state.update {
            $0.members = members
            $0.leader = leader
            $0.lastContact = Date()
            $0.problem = nil
        }
        self.loadSharing?.membersRefreshed()
        self.loadSharing?.shed(from: self.sessions)
    }

    /// The leader's part of liveness across servers: a host whose server died gets the restart
    /// grace to reconnect to another member; one that did not is declared DOWN here, once.
    private func sweepOrphans(liveMembers: [String], connected: Set<String>) async throws {
        let events = try await self.store.declareOrphansDown(
            liveMembers: liveMembers, grace: self.restartGrace, excluding: connected,
            reason: "its server stopped and it did not reconnect to another within the restart grace (\(self.restartGrace.compactDescription))",
            at: Date())
        for event in events {
            self.logger.warning("host down: its server is gone and it did not reconnect elsewhere", metadata: ["host": "\(event.hostname.logEscaped)"])
            self.publish(event)
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
