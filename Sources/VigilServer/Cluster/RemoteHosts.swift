import Foundation
import Synchronization
import VigilAPI
import VigilStore

/// The hosts other members of the cluster hold, as their relays (and the `agents` table, when this
/// server starts or listens again) describe them: shown beside this server's own hosts in the API
/// and the live stream, with the member holding each.
///
/// Kept apart from the ``LivenessTracker`` on purpose: nothing here has a deadline, so this
/// server's failure detector never judges a host connected elsewhere (its holder does, and the
/// leader for hosts whose server died). The tracker asks ``isHeldElsewhere(_:)`` only to stay quiet
/// about a host that left this server for another.
final class RemoteHosts: Sendable {
    struct Entry: Sendable, Equatable {
        var status: AgentStatus
        /// The member that holds it; `nil` when none does (its server died and it is DOWN).
        var member: String?
    }

    /// This member's id, shown on the hosts connected here.
    let memberID: String
    /// The members alive now, by id (`nil` before the first heartbeat): a host whose member is not
    /// among them is shown as not connected until it registers elsewhere or the leader declares it DOWN.
    private let liveMembers: @Sendable () -> Set<String>?
    private let entries = Mutex<[String: Entry]>([:])

    init(memberID: String, liveMembers: @escaping @Sendable () -> Set<String>? = { nil }) {
        self.memberID = memberID
        self.liveMembers = liveMembers
    }

    // MARK: Changes (the relay's task)

    /// Replaces every entry with what the store says (at start, and whenever the relay listens again).
    func seed(_ entries: [String: Entry]) {
        self.entries.withLock { $0 = entries }
    }

    /// `member` holds the host now (it registered there).
    func hold(_ status: AgentStatus, member: String) {
        var status = status
        status.phi = nil
        status.member = nil
        self.entries.withLock { $0[status.hostname] = Entry(status: status, member: member) }
    }

    /// A transition `member` stored: with its view of the host, or without one when nobody holds it.
    func apply(_ event: LivenessEvent, status: AgentStatus?, member: String) {
        self.entries.withLock { entries in
            if var status {
                status.phi = nil
                status.member = nil
                entries[event.hostname] = Entry(status: status, member: member)
            } else {
                var entry = entries[event.hostname] ?? Entry(
                    status: AgentStatus(hostname: event.hostname, state: event.to, stateSince: event.at, lastSeen: nil,
                                        connected: false, address: nil, agentVersion: nil, phi: nil),
                    member: nil)
                entry.status.state = event.to
                entry.status.stateSince = event.at
                entry.status.connected = false
                entry.member = nil
                entries[event.hostname] = entry
            }
        }
    }

    /// A sample `member` accepted: the host was seen then, connected there. That also names the
    /// holder of a host read from the store before its holder's claim was written (claims follow
    /// registrations by up to a few heartbeats), or whose registration elsewhere was missed.
    func saw(_ hostname: String, at date: Date, member: String) {
        self.entries.withLock { entries in
            guard var entry = entries[hostname] else { return }
            entry.status.lastSeen = max(entry.status.lastSeen ?? date, date)
            if entry.status.state.expectsHeartbeats {
                entry.member = member
                entry.status.connected = true
            }
            entries[hostname] = entry
        }
    }

    /// The host registered here: this server's tracker speaks for it from now on.
    func release(_ hostname: String) {
        _ = self.entries.withLock { $0.removeValue(forKey: hostname) }
    }

    // MARK: Reads

    /// Whether another live member holds the host on an open connection now.
    func isHeldElsewhere(_ hostname: String) -> Bool {
        let live = self.liveMembers()
        return self.entries.withLock { entries in
            guard let entry = entries[hostname], let member = entry.member, member != self.memberID, entry.status.connected else { return false }
            return live?.contains(member) ?? true
        }
    }

    /// What to show for a host: this server's view while it is connected here, else the view of
    /// the member that holds it, else this server's (a host stopped or DOWN here).
    func status(of hostname: String, local: AgentStatus?) -> AgentStatus? {
        let entry = self.entries.withLock { $0[hostname] }
        return self.resolve(local: local, remote: entry, live: self.liveMembers())
    }

    /// Every host, this server's and the others', sorted by name.
    func merged(_ local: [AgentStatus]) -> [AgentStatus] {
        let live = self.liveMembers()
        var remote = self.entries.withLock { $0 }
        var all: [AgentStatus] = []
        all.reserveCapacity(local.count + remote.count)
        for status in local {
            if let shown = self.resolve(local: status, remote: remote.removeValue(forKey: status.hostname), live: live) { all.append(shown) }
        }
        for entry in remote.values {
            if let shown = self.resolve(local: nil, remote: entry, live: live) { all.append(shown) }
        }
        return all.sorted { $0.hostname < $1.hostname }
    }

    /// Hosts known from other members (for tests and counts).
    var count: Int { self.entries.withLock { $0.count } }

    private func resolve(local: AgentStatus?, remote: Entry?, live: Set<String>?) -> AgentStatus? {
        if var local, local.connected || remote == nil {
            if local.connected { local.member = self.memberID }
            return local
        }
        guard let remote else { return local }
        var status = remote.status
        status.member = remote.member
        if let member = remote.member, let live, !live.contains(member) { status.connected = false }
        return status
    }
}
