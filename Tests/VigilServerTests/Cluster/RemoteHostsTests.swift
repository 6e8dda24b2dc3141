import Foundation
import NIOCore
import Synchronization
import Testing
import VigilAPI
import VigilStore
@testable import VigilServer

/// The other members' hosts as this server shows them, and the tracker staying quiet about a
/// host that another member holds.
@Suite("Remote hosts")
struct RemoteHostsTests {
    /// A value tests change while the code under test reads it from another closure.
    final class Shared<Value: Sendable>: Sendable {
        private let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        func get() -> Value { self.value.withLock { $0 } }
        func set(_ value: Value) { self.value.withLock { $0 = value } }
    }

    static let at = Date(timeIntervalSince1970: 1_800_000_000)

    static func status(_ host: String, _ state: LivenessState = .healthy, connected: Bool = true, at: Date = Self.at) -> AgentStatus {
        AgentStatus(hostname: host, state: state, stateSince: at, lastSeen: at, connected: connected, address: nil, agentVersion: "v", phi: 0.5)
    }

    @Test("listings merge this server's hosts with the others', each with its member; a host connected here is shown from here")
    func merge() {
        let live = Shared<Set<String>?>(["member-a", "member-b"])
        let remote = RemoteHosts(memberID: "member-b", liveMembers: { live.get() })
        remote.hold(Self.status("on-a"), member: "member-a")
        remote.hold(Self.status("moved"), member: "member-a")
        let local = [Self.status("moved"), Self.status("stopped-here", .stopped, connected: false), Self.status("mine")]
        let merged = remote.merged(local)
        #expect(merged.map(\.hostname) == ["mine", "moved", "on-a", "stopped-here"])
        #expect(merged.map(\.member) == ["member-b", "member-b", "member-a", nil])
        #expect(merged.first { $0.hostname == "on-a" }?.phi == nil)
        #expect(remote.isHeldElsewhere("on-a"))
        #expect(!remote.isHeldElsewhere("mine"))

        // A transition the holder stored (connection lost): shown from there, no longer held.
        remote.apply(LivenessEvent(hostname: "on-a", from: .healthy, to: .suspect, reason: "lost", at: Self.at), status: Self.status("on-a", .suspect, connected: false), member: "member-a")
        #expect(remote.status(of: "on-a", local: nil)?.state == .suspect)
        #expect(!remote.isHeldElsewhere("on-a"))
        // The leader declaring it DOWN: nobody holds it.
        remote.apply(LivenessEvent(hostname: "on-a", from: .suspect, to: .down, reason: "its server stopped", at: Self.at), status: nil, member: "member-c")
        #expect(remote.status(of: "on-a", local: nil).map { [$0.state.rawValue, $0.member ?? "-"] } == ["DOWN", "-"])

        // A member that died: its hosts are shown not connected, and not held.
        remote.hold(Self.status("on-dead"), member: "member-a")
        live.set(["member-b"])
        #expect(remote.status(of: "on-dead", local: nil)?.connected == false)
        #expect(!remote.isHeldElsewhere("on-dead"))
        // Registered here: released.
        remote.release("on-dead")
        #expect(remote.status(of: "on-dead", local: nil) == nil)

        // Read from the store before its holder claimed it: no member, until a sample names it.
        remote.seed(["unclaimed": .init(status: Self.status("unclaimed", connected: false), member: nil), "gone": .init(status: Self.status("gone", .down, connected: false), member: nil)])
        #expect(remote.status(of: "unclaimed", local: nil)?.member == nil)
        remote.saw("unclaimed", at: Self.at.addingTimeInterval(5), member: "member-b2")
        live.set(["member-b", "member-b2"])
        #expect(remote.status(of: "unclaimed", local: nil).map { [$0.member ?? "-", "\($0.connected)"] } == ["member-b2", "true"])
        #expect(remote.status(of: "unclaimed", local: nil)?.lastSeen == Self.at.addingTimeInterval(5))
        // A late sample of a host that is DOWN does not make it connected; one never seen stays unknown.
        remote.saw("gone", at: Self.at, member: "member-a")
        #expect(remote.status(of: "gone", local: nil)?.connected == false)
        remote.saw("never", at: Self.at, member: "member-a")
        #expect(remote.count == 2)
    }

    @Test("a host that left this server for another member: its connection loss raises nothing here, and no DOWN when the grace runs out")
    func trackerStaysQuiet() async {
        var settings = ServerSettings()
        settings.heartbeatInterval = .seconds(1)
        let held = Shared<Set<String>>([])
        let (updates, continuation) = AsyncStream<LivenessUpdate>.makeStream()
        let tracker = LivenessTracker(policy: LivenessPolicy(settings: settings), updates: continuation, heldElsewhere: { host in held.get().contains(host) })
        var now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        let info = RegistrationInfo(agentVersion: "t", protocolVersion: 1, capabilities: [], address: nil)
        for (index, host) in ["moved", "lost"].enumerated() {
            tracker.register(hostname: host, connection: ConnectionHandle(id: UInt64(index + 1)) { _, _ in }, info: info, now: now, wallNow: Self.at)
            tracker.heartbeat(hostname: host, connectionID: UInt64(index + 1), now: now, wallNow: Self.at)
        }
        // "moved" registered with another member before this one saw its connection close; "lost" just vanished.
        held.set(["moved"])
        tracker.connectionLost(hostname: "moved", connectionID: 1, cause: "closed", now: now, wallNow: Self.at)
        tracker.connectionLost(hostname: "lost", connectionID: 2, cause: "closed", now: now, wallNow: Self.at)
        for _ in 0..<600 {
            now = now + .milliseconds(100)
            tracker.sweep(now: now, wallNow: Self.at)
        }
        continuation.finish()
        var moves: [String] = []
        for await update in updates {
            if case .transition(let event) = update { moves.append("\(event.hostname):\(event.to.rawValue.lowercased())") }
        }
        #expect(moves.filter { $0.hasPrefix("moved:") } == ["moved:connected", "moved:healthy"])
        #expect(moves.filter { $0.hasPrefix("lost:") } == ["lost:connected", "lost:healthy", "lost:suspect", "lost:down"])
    }
}
