import Foundation
import NIOCore
import Synchronization
import VigilProtocol
import VigilAPI
import VigilStore

/// Owns every host's liveness state and moves it through the state machine.
///
/// Heartbeats arrive on many event loops at once, so the state sits behind `Mutex`es and every
/// operation is a short, allocation-free critical section; that keeps the heartbeat path on its
/// event loop with no hop to an actor. Hosts are spread over ``shardCount`` shards by name, each
/// with its own lock: a sweep, a snapshot or a persist pass over 10,000 hosts then holds one
/// shard at a time, and heartbeats of other hosts go on meanwhile. (With one lock, those passes
/// made every event loop wait on a contended futex: at 10,000 agents with 1 s heartbeats and
/// metrics, heartbeats queued for seconds and every agent was declared DOWN.) Transitions are
/// published to `updates` while the host's shard lock is held, so each host's transitions are
/// published in the order they happened in.
///
/// Times are passed in rather than read from a clock, so tests drive the tracker deterministically:
/// `now` is monotonic (for deadlines), `wallNow` is the calendar time recorded in events.
public final class LivenessTracker: Sendable {
    struct Host {
        var state: LivenessState
        var stateSince: Date
        var connection: ConnectionHandle?
        var info: RegistrationInfo?
        var detector: PhiAccrualDetector
        /// The numbers this host is judged by: the tracker's policy when it registered, or after a
        /// reload it could follow (``LivenessTracker/update(settings:now:)``).
        var policy: LivenessPolicy
        /// Last heartbeat (or register) on the current connection.
        var lastArrival: NIODeadline?
        var lastSeen: Date?
        var lastSeenDirty = false
        var suspectAt: NIODeadline?
        var downAt: NIODeadline?
        /// Set while a reconnect is awaited (after a connection loss or a server start).
        var graceUntil: NIODeadline?
        var graceReason = ""
        /// Whether the running grace followed a lost connection (its DOWN is a detection, timed
        /// from the last heartbeat), not a server start (the silence then includes our own downtime).
        var graceAfterLoss = false
        var steadyHeartbeats = 0
        /// Heartbeats on the current connection. The gap between register and the first heartbeat
        /// is not an interval of the rhythm (agents send the first at once) and is not sampled.
        var heartbeatsOnConnection = 0
    }

    struct State {
        var hosts: [String: Host] = [:]
    }

    /// One lock and the hosts behind it (a class: a `Mutex` cannot be copied into an array).
    final class Shard: Sendable {
        let state = Mutex(State())
    }

    /// Shards of the host table; a power of two, so a host's shard is a mask of its name's hash.
    static let shardCount = 64
    private let shards: [Shard]
    private let shuttingDown = Atomic<Bool>(false)
    private let currentPolicy: Mutex<LivenessPolicy>
    /// The policy new registrations get (a reload may change it).
    public var policy: LivenessPolicy { self.currentPolicy.withLock { $0 } }
    private let updates: AsyncStream<LivenessUpdate>.Continuation
    /// Where detection latencies go (`vigil_liveness_detection_seconds`).
    private let metrics: ServerMetrics?
    /// Whether another member of the cluster holds a host now (``RemoteHosts``). A host that left
    /// this server for another is not this server's to judge: its connection loss raises nothing
    /// here, and a grace that runs out while another member holds it ends without DOWN.
    private let heldElsewhere: @Sendable (String) -> Bool

    /// - Parameters:
    ///   - policy: The detector's numbers.
    ///   - updates: Where transitions and registrations are published, in order.
    ///   - metrics: The server's figures; told how long after its last heartbeat each host was declared DOWN.
    ///   - heldElsewhere: Whether another cluster member holds a host now (always `false` for a single server).
    public init(policy: LivenessPolicy, updates: AsyncStream<LivenessUpdate>.Continuation, metrics: ServerMetrics? = nil,
                heldElsewhere: @escaping @Sendable (String) -> Bool = { _ in false }) {
        self.heldElsewhere = heldElsewhere
        self.currentPolicy = Mutex(policy)
        self.updates = updates
        self.metrics = metrics
        self.shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    /// The shard that holds `hostname`. `Hasher` is seeded per process, which is all this needs.
    private func shard(_ hostname: String) -> Shard {
        self.shards[hostname.hashValue & (Self.shardCount - 1)]
    }

    // MARK: Inputs

    /// Loads what the store knew before this server started. Hosts that were alive get
    /// `restartGrace` to reconnect before they are declared DOWN, so a server restart raises no alerts.
    public func restore(_ records: [AgentRecord], now: NIODeadline) {
        let policy = self.policy
        let grace = policy.restartGrace
        for record in records {
            self.shard(record.hostname).state.withLock { state in
                var host = Host(state: record.state, stateSince: record.stateSince, detector: Self.newDetector(policy), policy: policy)
                host.lastSeen = record.lastSeen
                host.info = RegistrationInfo(agentVersion: record.agentVersion, protocolVersion: record.protocolVersion ?? ProtocolVersion.current, capabilities: record.capabilities, address: record.address)
                if record.state.expectsHeartbeats {
                    host.graceUntil = now + Self.amount(grace)
                    host.graceReason = "did not reconnect within \(Self.format(grace)) of server start"
                    host.graceAfterLoss = false
                }
                state.hosts[record.hostname] = host
            }
        }
    }

    /// A host registered on a connection. Returns the connection this one supersedes, if any,
    /// for the caller to close (two agents with one key: the newest wins).
    @discardableResult
    public func register(hostname: String, connection: ConnectionHandle, info: RegistrationInfo, now: NIODeadline, wallNow: Date) -> ConnectionHandle? {
        let policy = self.policy
        return self.shard(hostname).state.withLock { state in
            let isNew = state.hosts[hostname] == nil
            var host = state.hosts[hostname] ?? Host(state: .connected, stateSince: wallNow, detector: Self.newDetector(policy), policy: policy)
            let superseded = host.connection.flatMap { $0.id == connection.id ? nil : $0 }
            let wasAwaitingReconnect = host.graceUntil != nil
            host.connection = connection
            host.info = info
            host.policy = policy
            host.detector = Self.newDetector(policy)
            host.heartbeatsOnConnection = 0
            host.graceUntil = nil
            self.arrived(&host, now: now, wallNow: wallNow)
            if isNew {
                self.publish(&host, hostname, from: nil, to: .connected, "registered for the first time", wallNow)
            } else {
                switch host.state {
                case .stopped:
                    self.move(&host, hostname, to: .connected, "registered after a clean stop", wallNow)
                case .down:
                    host.steadyHeartbeats = 0
                    self.move(&host, hostname, to: .recovered, "reconnected after \(Self.format(wallNow.timeIntervalSince(host.stateSince))) down", wallNow)
                case .suspect:
                    self.move(&host, hostname, to: .healthy, wasAwaitingReconnect ? "reconnected within the grace period" : "registered again", wallNow)
                case .connected, .healthy, .recovered:
                    break  // a reconnect inside the grace, or after our own restart: nothing happened to the host
                }
            }
            state.hosts[hostname] = host
            self.updates.yield(.registered(hostname: hostname, info: info, at: wallNow))
            return superseded
        }
    }

    /// A heartbeat arrived on a connection.
    public func heartbeat(hostname: String, connectionID: UInt64, now: NIODeadline, wallNow: Date) {
        self.shard(hostname).state.withLock { state in
            // Mutate in place: copying the host out would copy its detector's sample window (an
            // allocation per heartbeat under the lock).
            guard let index = state.hosts.index(forKey: hostname), state.hosts.values[index].connection?.id == connectionID else { return }
            self.heartbeat(&state.hosts.values[index], hostname, now: now, wallNow: wallNow)
        }
    }

    private func heartbeat(_ host: inout Host, _ hostname: String, now: NIODeadline, wallNow: Date) {
        let silence = host.lastArrival.map { Self.seconds(now - $0) }
        if host.state == .down {
            // The gap that made it DOWN is no sample of normal behaviour: start afresh.
            host.detector = Self.newDetector(host.policy)
        } else if let silence, host.heartbeatsOnConnection > 0 {
            host.detector.record(interval: silence)
        }
        host.heartbeatsOnConnection += 1
        self.arrived(&host, now: now, wallNow: wallNow)
        switch host.state {
        case .connected:
            self.move(&host, hostname, to: .healthy, "first heartbeat", wallNow)
        case .suspect:
            self.move(&host, hostname, to: .healthy, "heartbeat resumed after \(Self.format(silence ?? 0)) of silence", wallNow)
        case .down:
            host.steadyHeartbeats = 0
            self.move(&host, hostname, to: .recovered, "heartbeat resumed after \(Self.format(silence ?? 0)) of silence", wallNow)
        case .recovered:
            host.steadyHeartbeats += 1
            if host.steadyHeartbeats >= host.policy.recoveryHeartbeats {
                self.move(&host, hostname, to: .healthy, "\(host.steadyHeartbeats) steady heartbeats since recovery", wallNow)
            }
        case .healthy, .stopped:
            break
        }
    }

    /// A registered connection closed without `CLIENT_UNREGISTER`.
    public func connectionLost(hostname: String, connectionID: UInt64, cause: String, now: NIODeadline, wallNow: Date) {
        self.shard(hostname).state.withLock { state in
            guard !self.shuttingDown.load(ordering: .sequentiallyConsistent), var host = state.hosts[hostname], host.connection?.id == connectionID else { return }
            Self.detachConnection(&host)
            if host.state.expectsHeartbeats, !self.heldElsewhere(hostname) {
                let grace = host.policy.reconnectGrace
                host.graceUntil = now + Self.amount(grace)
                host.graceReason = "connection lost (\(cause)) and no reconnect within \(Self.format(grace))"
                host.graceAfterLoss = true
                self.move(&host, hostname, to: .suspect, "connection lost (\(cause)); awaiting reconnect for \(Self.format(grace))", wallNow)
            }
            state.hosts[hostname] = host
        }
    }

    /// The host moves to another cluster member (this one sheds it to balance load): forget it here
    /// without a transition, so its connection's close brings neither SUSPECT nor DOWN. The
    /// member it moves to takes it up when it registers there.
    ///
    /// - Returns: Whether the host was here on that connection (and is now forgotten).
    @discardableResult
    public func handOver(hostname: String, connectionID: UInt64) -> Bool {
        self.shard(hostname).state.withLock { state in
            guard let host = state.hosts[hostname], host.connection?.id == connectionID else { return false }
            state.hosts[hostname] = nil
            return true
        }
    }

    /// A host said goodbye: STOPPED, which is not an alert.
    public func unregister(hostname: String, connectionID: UInt64, reason: String?, wallNow: Date) {
        self.shard(hostname).state.withLock { state in
            guard var host = state.hosts[hostname], host.connection?.id == connectionID else { return }
            Self.detachConnection(&host)
            host.graceUntil = nil
            host.lastSeen = wallNow
            host.lastSeenDirty = true
            self.move(&host, hostname, to: .stopped, "clean shutdown" + (reason.map { ": \($0)" } ?? ""), wallNow)
            state.hosts[hostname] = host
        }
    }

    /// Checks every host's deadlines. Called every `liveness.check_interval`.
    public func sweep(now: NIODeadline, wallNow: Date) {
        for shard in self.shards {
            guard !self.shuttingDown.load(ordering: .sequentiallyConsistent) else { return }
            shard.state.withLock { state in
                for index in state.hosts.indices {
                    let hostname = state.hosts.keys[index]
                    self.check(&state.hosts.values[index], hostname, now: now, wallNow: wallNow)
                }
            }
        }
    }

    /// A reload changed the detector's settings. New registrations get the new policy; a connected
    /// host takes it whole when it was told of the change (it listed the `session_update`
    /// capability, so it keeps the new heartbeat interval from now on), and otherwise keeps its own
    /// interval (it keeps sending at the one it registered with) with the other new numbers.
    ///
    /// A host whose interval changes starts a fresh phi history seeded with the new interval (its
    /// samples described the old rhythm: judged by them, a longer interval would look like a dead
    /// host), does not sample the gap across the change, and has its deadlines counted from `now`,
    /// when the agent restarts its timer. Other hosts keep their history; their deadlines follow
    /// the new thresholds from their last heartbeat.
    public func update(settings: ServerSettings, now: NIODeadline) {
        let fresh = LivenessPolicy(settings: settings)
        self.currentPolicy.withLock { $0 = fresh }
        for shard in self.shards {
            shard.state.withLock { state in
                for index in state.hosts.indices {
                    var host = state.hosts.values[index]
                    let follows = host.connection == nil || (host.info?.capabilities.contains(SessionParameters.updateCapability) ?? false)
                    let policy = follows ? fresh : LivenessPolicy(settings: settings, interval: host.policy.interval)
                    guard policy != host.policy else { continue }
                    let intervalChanged = policy.interval != host.policy.interval
                    host.policy = policy
                    if intervalChanged {
                        host.detector = Self.newDetector(policy)
                        host.heartbeatsOnConnection = 0
                    }
                    if host.connection != nil, let last = host.lastArrival {
                        Self.setDeadlines(&host, from: intervalChanged ? max(now, last) : last)
                    }
                    state.hosts.values[index] = host
                }
            }
        }
    }

    /// From now on, connection losses are the server's own doing and raise nothing.
    public func beginShutdown() {
        self.shuttingDown.store(true, ordering: .sequentiallyConsistent)
        // A barrier: a `connectionLost` that read the flag before it was set holds its shard's lock
        // until it is done, so once every lock has been taken here none can publish any more.
        for shard in self.shards { shard.state.withLock { _ in } }
    }

    // MARK: Reads

    /// Every host, sorted by name.
    public func snapshot(now: NIODeadline = .now()) -> [AgentStatus] {
        var all: [AgentStatus] = []
        for shard in self.shards {
            shard.state.withLock { state in
                all.reserveCapacity(all.count + state.hosts.count)
                for (hostname, host) in state.hosts { all.append(Self.status(hostname, host, now: now)) }
            }
        }
        return all.sorted { $0.hostname < $1.hostname }
    }

    /// Every host, in no particular order and without phi: for `/metrics/fleet`, which needs
    /// neither, at a fraction of ``snapshot(now:)``'s cost (no sort, no logarithms).
    public func unsortedStatuses() -> [AgentStatus] {
        var all: [AgentStatus] = []
        for shard in self.shards {
            shard.state.withLock { state in
                all.reserveCapacity(all.count + state.hosts.count)
                for (hostname, host) in state.hosts {
                    all.append(AgentStatus(
                        hostname: hostname, state: host.state, stateSince: host.stateSince, lastSeen: host.lastSeen,
                        connected: host.connection != nil, address: host.info?.address, agentVersion: host.info?.agentVersion, phi: nil
                    ))
                }
            }
        }
        return all
    }

    /// One host's status, or `nil` when the tracker has never heard of it.
    public func status(of hostname: String, now: NIODeadline = .now()) -> AgentStatus? {
        self.shard(hostname).state.withLock { state in
            state.hosts[hostname].map { Self.status(hostname, $0, now: now) }
        }
    }

    private static func status(_ hostname: String, _ host: Host, now: NIODeadline) -> AgentStatus {
        AgentStatus(
            hostname: hostname, state: host.state, stateSince: host.stateSince, lastSeen: host.lastSeen,
            connected: host.connection != nil, address: host.info?.address, agentVersion: host.info?.agentVersion,
            phi: host.lastArrival.map { host.detector.phi(afterSilence: Self.seconds(now - $0)) }
        )
    }

    /// Last-seen times changed since the previous call, for a batched write to the store.
    public func takeChangedLastSeen() -> [String: Date] {
        var changed: [String: Date] = [:]
        for shard in self.shards {
            shard.state.withLock { state in
                for index in state.hosts.indices where state.hosts.values[index].lastSeenDirty {
                    state.hosts.values[index].lastSeenDirty = false
                    if let seen = state.hosts.values[index].lastSeen { changed[state.hosts.keys[index]] = seen }
                }
            }
        }
        return changed
    }

    // MARK: Internals (called with the lock held)

    private func check(_ host: inout Host, _ hostname: String, now: NIODeadline, wallNow: Date) {
        if let grace = host.graceUntil, now >= grace {
            host.graceUntil = nil
            if host.state != .down, !self.heldElsewhere(hostname) {
                if host.graceAfterLoss, let seen = host.lastSeen {
                    self.metrics?.downDetected(afterSilence: max(0, wallNow.timeIntervalSince(seen)))
                }
                self.move(&host, hostname, to: .down, host.graceReason, wallNow)
            }
            return
        }
        guard host.connection != nil, let last = host.lastArrival else { return }
        if let downAt = host.downAt, now >= downAt {
            host.downAt = nil
            host.suspectAt = nil
            if host.state != .down {
                let silence = Self.seconds(now - last)
                let phi = host.detector.phi(afterSilence: silence)
                self.metrics?.downDetected(afterSilence: silence)
                self.move(&host, hostname, to: .down, "no heartbeat for \(Self.format(silence)) (phi \(Self.format(phi, unit: "")), interval \(Self.format(host.policy.interval)))", wallNow)
            }
        } else if let suspectAt = host.suspectAt, now >= suspectAt {
            host.suspectAt = nil
            if host.state == .healthy || host.state == .connected || host.state == .recovered {
                let silence = Self.seconds(now - last)
                let phi = host.detector.phi(afterSilence: silence)
                self.move(&host, hostname, to: .suspect, "heartbeat late: \(Self.format(silence)) since the last (phi \(Self.format(phi, unit: "")))", wallNow)
            }
        }
    }

    /// Forgets the current connection and the silence deadlines that belonged to it.
    private static func detachConnection(_ host: inout Host) {
        host.connection = nil
        host.suspectAt = nil
        host.downAt = nil
        host.lastArrival = nil
    }

    /// Records an arrival and sets the deadlines it implies.
    private func arrived(_ host: inout Host, now: NIODeadline, wallNow: Date) {
        host.lastArrival = now
        host.lastSeen = wallNow
        host.lastSeenDirty = true
        Self.setDeadlines(&host, from: now)
    }

    /// The SUSPECT and DOWN deadlines of a host last heard from at `base`, by its policy and history.
    private static func setDeadlines(_ host: inout Host, from base: NIODeadline) {
        let policy = host.policy
        let downSilence = min(max(host.detector.silence(reachingPhi: policy.phiDown), policy.downFloor), policy.downCeiling)
        let suspectSilence = min(max(host.detector.silence(reachingPhi: policy.phiSuspect), policy.interval), downSilence)
        host.suspectAt = base + Self.amount(suspectSilence)
        host.downAt = base + Self.amount(downSilence)
    }

    private func move(_ host: inout Host, _ hostname: String, to next: LivenessState, _ reason: String, _ wallNow: Date) {
        guard host.state != next else { return }
        self.publish(&host, hostname, from: host.state, to: next, reason, wallNow)
    }

    private func publish(_ host: inout Host, _ hostname: String, from: LivenessState?, to next: LivenessState, _ reason: String, _ wallNow: Date) {
        host.state = next
        host.stateSince = wallNow
        self.updates.yield(.transition(LivenessEvent(hostname: hostname, from: from, to: next, reason: reason, at: wallNow)))
    }

    private static func newDetector(_ policy: LivenessPolicy) -> PhiAccrualDetector {
        PhiAccrualDetector(expectedInterval: policy.interval)
    }

    static func seconds(_ amount: TimeAmount) -> Double { Double(amount.nanoseconds) / 1e9 }
    static func amount(_ seconds: Double) -> TimeAmount { .nanoseconds(Int64(seconds * 1e9)) }

    static func format(_ value: Double, unit: String = " s") -> String {
        guard value.isFinite, abs(value) < 1e12 else { return "\(value)\(unit)" }
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? "\(Int(rounded))\(unit)" : "\(rounded)\(unit)"
    }
}
