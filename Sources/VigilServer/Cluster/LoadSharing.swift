import Foundation
import Logging
import Synchronization
import VigilPostgres
import VigilProtocol

/// This member's part in sharing agents across the cluster (`cluster.capacity`,
/// `cluster.balance_tolerance`, `cluster.shed_rate`):
/// - a new agent that registers while this member is at its capacity is redirected to the
///   least-loaded member with room (``redirect(agentsHere:)``, asked by the registration path);
/// - when loads drift apart (a member joined, or came back), the most loaded member sheds agents
///   to the least loaded, a few each heartbeat (``shed(from:now:)``, called by ``ClusterService``).
///
/// Both work from the members table as last read (at most one heartbeat old). Agents sent to a
/// member since that read count as its load, so a burst of registrations does not all land on the
/// member that looked emptiest.
final class LoadSharing: Sendable {
    private let settings: ClusterSettings
    private let memberID: String
    private let state: ClusterState
    private let tracker: LivenessTracker
    private let logger: Logger
    /// Agents redirected to each member since the members were last read; and when this member last shed.
    private let sent = Mutex<(toMember: [String: Int], lastShed: ContinuousClock.Instant?)>(([:], nil))

    init(settings: ClusterSettings, memberID: String, state: ClusterState, tracker: LivenessTracker, logger: Logger) {
        self.settings = settings
        self.memberID = memberID
        self.state = state
        self.tracker = tracker
        self.logger = logger
    }

    private var balance: ClusterBalance {
        ClusterBalance(members: self.state.snapshot.members, me: self.memberID, tolerance: self.settings.balanceTolerance)
    }

    /// Where to send an agent registering now, or `nil` to take it.
    func redirect(agentsHere: Int) -> ClusterRedirect? {
        guard self.settings.capacity > 0, agentsHere >= self.settings.capacity else { return nil }
        let balance = self.balance
        return self.sent.withLock { sent in
            guard let target = balance.redirectTarget(load: agentsHere, capacity: self.settings.capacity, pending: sent.toMember) else { return nil }
            sent.toMember[target.id, default: 0] += 1
            return ClusterRedirect(
                address: target.agentAddress,
                reason: "this server is at its capacity (\(self.settings.capacity) agents); member \(target.id) has room")
        }
    }

    /// The members table was read again: loads now include the agents sent meanwhile.
    func membersRefreshed() {
        self.sent.withLock { $0.toMember = [:] }
    }

    /// Sheds agents if this member is the most loaded and loads are further apart than the
    /// tolerance. Steps come at most every other heartbeat, so the members' rows show one step's
    /// effect before the next is decided; a step moves at most `cluster.shed_rate` agents a second.
    ///
    /// Each agent is forgotten by this member's liveness tracker before its connection is closed
    /// with a `redirect`, so the close raises no SUSPECT or DOWN: the host is alive, elsewhere.
    ///
    /// - Returns: The hosts sent away.
    @discardableResult
    func shed(from sessions: RegisteredSessions, now: ContinuousClock.Instant = .now) -> [String] {
        let agentsHere = sessions.agentCount
        guard self.settings.shedRate > 0 else { return [] }
        let step = self.settings.heartbeatInterval * 2
        let limit: Int? = self.sent.withLock { sent in
            if let last = sent.lastShed, now - last < step { return nil }
            return max(1, Int((Double(self.settings.shedRate) * step.seconds).rounded(.down)))
        }
        guard let limit, let plan = self.balance.shedding(load: agentsHere, limit: limit) else { return [] }
        self.sent.withLock {
            $0.lastShed = now
            $0.toMember[plan.target.id, default: 0] += plan.count
        }
        let reason = "balancing load: member \(plan.target.id) has fewer agents"
        var moved: [String] = []
        for agent in sessions.agentsToShed(plan.count) where self.tracker.handOver(hostname: agent.clientID, connectionID: agent.connectionID) {
            agent.redirect(plan.target.agentAddress, reason)
            moved.append(agent.clientID)
        }
        if !moved.isEmpty {
            self.logger.info("shedding agents to balance load", metadata: [
                "count": "\(moved.count)", "to": "\(plan.target.id.logEscaped)", "agents_here": "\(agentsHere)", "their_load": "\(plan.target.load)",
            ])
        }
        return moved
    }
}
