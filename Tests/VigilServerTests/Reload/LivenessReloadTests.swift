import Foundation
import NIOCore
import Testing
import VigilProtocol
@testable import VigilServer

/// The failure detector across a reload of `heartbeat.interval` (`LivenessTracker.update`).
@Suite("Liveness across an interval reload")
struct LivenessReloadTests {
    /// A tracker on a hand-held clock, and the transitions it published.
    final class Clocked {
        let tracker: LivenessTracker
        var iterator: AsyncStream<LivenessUpdate>.Iterator
        var now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        var wall = Date(timeIntervalSince1970: 1_800_000_000)
        var transitions: [String] = []

        init(interval: Duration) {
            var settings = ServerSettings()
            settings.heartbeatInterval = interval
            let (stream, continuation) = AsyncStream<LivenessUpdate>.makeStream()
            self.iterator = stream.makeAsyncIterator()
            self.tracker = LivenessTracker(policy: LivenessPolicy(settings: settings), updates: continuation)
        }

        func register(_ host: String, id: UInt64, capabilities: [String]) {
            self.tracker.register(hostname: host, connection: ConnectionHandle(id: id) { _, _ in }, info: RegistrationInfo(agentVersion: "t", protocolVersion: 1, capabilities: capabilities, address: nil), now: self.now, wallNow: self.wall)
        }

        /// Moves the clock, sweeping every 10 ms as the monitor would.
        func advance(_ seconds: Double) {
            for _ in 0..<Int((seconds * 100).rounded()) {
                self.now = self.now + .milliseconds(10)
                self.wall = self.wall.addingTimeInterval(0.01)
                self.tracker.sweep(now: self.now, wallNow: self.wall)
            }
        }

        /// Heartbeats of `hosts` every `every` seconds, `count` times.
        func beat(_ hosts: [(String, UInt64)], every: Double, count: Int) {
            for _ in 0..<count {
                self.advance(every)
                for (host, id) in hosts { self.tracker.heartbeat(hostname: host, connectionID: id, now: self.now, wallNow: self.wall) }
            }
        }

        func update(interval: Duration) {
            var settings = ServerSettings()
            settings.heartbeatInterval = interval
            self.tracker.update(settings: settings, now: self.now)
        }

        func state(_ host: String) -> LivenessState? { self.tracker.status(of: host)?.state }
    }

    @Test("an agent told of a 1 s → 5 s interval is judged by the new one: no SUSPECT or DOWN at its new rhythm")
    func longerIntervalNoFalseDown() {
        let clock = Clocked(interval: .seconds(1))
        clock.register("follower", id: 1, capabilities: ["heartbeat", SessionParameters.updateCapability])
        clock.beat([("follower", 1)], every: 1, count: 30)
        #expect(clock.state("follower") == .healthy)

        clock.update(interval: .seconds(5))
        #expect(clock.tracker.policy.interval == 5)
        // The agent sends one heartbeat at once, then one every 5 s (the gap across the change
        // is no sample of either rhythm).
        clock.beat([("follower", 1)], every: 0.05, count: 1)
        clock.beat([("follower", 1)], every: 5, count: 20)
        #expect(clock.state("follower") == .healthy)
        // And the new interval really is the one it is judged by: silence past its ceiling is DOWN.
        clock.advance(16)
        #expect(clock.state("follower") == .down)
    }

    @Test("without the update, 5 s silences after a 1 s history are DOWN (the case the update prevents)")
    func controlWithoutUpdate() {
        let clock = Clocked(interval: .seconds(1))
        clock.register("follower", id: 1, capabilities: ["heartbeat"])
        clock.beat([("follower", 1)], every: 1, count: 30)
        clock.advance(5)
        #expect(clock.state("follower") == .down)
    }

    @Test("a client that cannot be told keeps being judged by the interval it registered with")
    func oldClientKeepsItsInterval() {
        let clock = Clocked(interval: .seconds(5))
        clock.register("old", id: 2, capabilities: ["heartbeat"])
        clock.register("new", id: 3, capabilities: [SessionParameters.updateCapability])
        clock.beat([("old", 2), ("new", 3)], every: 5, count: 6)
        clock.update(interval: .seconds(1))
        // The old client goes on at 5 s: not DOWN, though new registrations expect 1 s.
        clock.beat([("old", 2)], every: 5, count: 6)
        #expect(clock.state("old") == .healthy)
        // The one that was told is judged at 1 s: silent for 5 s, it is DOWN.
        #expect(clock.state("new") == .down)
        // A new registration gets the new interval.
        clock.register("fresh", id: 4, capabilities: [])
        clock.beat([("fresh", 4)], every: 1, count: 3)
        clock.advance(5)
        #expect(clock.state("fresh") == .down)
    }
}
