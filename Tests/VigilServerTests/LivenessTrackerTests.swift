import Foundation
import NIOCore
import Testing
import VigilProtocol
import VigilStore
@testable import VigilServer

/// Drives the tracker with a hand-held clock and collects the events it publishes.
private final class Harness {
    let tracker: LivenessTracker
    let updates: AsyncStream<LivenessUpdate>
    var iterator: AsyncStream<LivenessUpdate>.Iterator
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    var events: [LivenessEvent] = []
    var closed: [(UInt64, ErrorCode)] = []

    init(_ configure: (inout ServerSettings) -> Void = { _ in }) {
        var settings = ServerSettings()
        settings.heartbeatInterval = .seconds(1)
        configure(&settings)
        let (stream, continuation) = AsyncStream<LivenessUpdate>.makeStream()
        self.updates = stream
        self.iterator = stream.makeAsyncIterator()
        self.tracker = LivenessTracker(policy: LivenessPolicy(settings: settings), updates: continuation)
    }

    var wall: Date { self.start.addingTimeInterval(Double(self.now.uptimeNanoseconds - 1_000_000_000_000) / 1e9) }

    func advance(_ seconds: Double, sweepEvery step: Double = 0.01) {
        var left = seconds
        while left > 1e-9 {
            let d = min(step, left)
            self.now = self.now + .nanoseconds(Int64(d * 1e9))
            left -= d
            self.tracker.sweep(now: self.now, wallNow: self.wall)
        }
    }

    func handle(_ id: UInt64) -> ConnectionHandle { ConnectionHandle(id: id) { _, _ in } }

    func register(_ host: String, connection: UInt64) {
        self.tracker.register(hostname: host, connection: self.handle(connection), info: RegistrationInfo(agentVersion: "t", protocolVersion: 1, capabilities: [], address: nil), now: self.now, wallNow: self.wall)
    }

    func heartbeat(_ host: String, connection: UInt64) {
        self.tracker.heartbeat(hostname: host, connectionID: connection, now: self.now, wallNow: self.wall)
    }

    /// Transitions published since the last call, as `FROM>TO`.
    func drain() async -> [String] {
        // Each publish is synchronous, so everything published so far is buffered: stop at a sentinel.
        self.tracker.register(hostname: "__sentinel__", connection: ConnectionHandle(id: .max) { _, _ in }, info: RegistrationInfo(agentVersion: nil, protocolVersion: 1, capabilities: [], address: nil), now: self.now, wallNow: self.wall)
        var result: [String] = []
        while let update = await self.iterator.next() {
            if case .registered(let host, _, _) = update, host == "__sentinel__" { break }
            if case .transition(let event) = update, event.hostname != "__sentinel__" {
                self.events.append(event)
                result.append("\(event.hostname):\(event.from?.rawValue ?? "-")>\(event.to.rawValue)")
            }
        }
        return result
    }

    /// Seconds from `since` to the first event into `state` for `host`.
    func latency(of host: String, to state: LivenessState, since: Date) -> Double? {
        self.events.first { $0.hostname == host && $0.to == state && $0.at >= since }.map { $0.at.timeIntervalSince(since) }
    }
}

@Suite("Liveness state machine")
struct LivenessTrackerTests {
    @Test("hosts in every shard: all are swept to DOWN once, the snapshot lists each once in name order, a live one stays")
    func everyShard() async {
        let h = Harness()
        let names = (0..<(LivenessTracker.shardCount * 8)).map { String(format: "host-%04d", $0) }
        for (index, name) in names.enumerated() { h.register(name, connection: UInt64(index + 1)) }
        for (index, name) in names.enumerated() { h.heartbeat(name, connection: UInt64(index + 1)) }
        _ = await h.drain()
        // Every host but the first falls silent; the first keeps its rhythm.
        for _ in 0..<20 {
            h.advance(1)
            h.heartbeat(names[0], connection: 1)
        }
        let downs = await h.drain().filter { $0.hasSuffix(">DOWN") }
        #expect(downs.count == names.count - 1, "one DOWN per silent host, across all \(LivenessTracker.shardCount) shards")
        #expect(Set(downs).count == downs.count)
        #expect(!downs.contains { $0.hasPrefix(names[0] + ":") })
        let snapshot = h.tracker.snapshot(now: h.now).filter { $0.hostname != "__sentinel__" }
        #expect(snapshot.map(\.hostname) == names)
        #expect(snapshot.first?.state == .healthy)
        #expect(snapshot.dropFirst().allSatisfy { $0.state == .down })
    }

    @Test("register then heartbeat: CONNECTED, then HEALTHY")
    func firstContact() async {
        let h = Harness()
        h.register("a", connection: 1)
        h.heartbeat("a", connection: 1)
        #expect(await h.drain() == ["a:->CONNECTED", "a:CONNECTED>HEALTHY"])
    }

    @Test("silence: SUSPECT, then DOWN after the floor and by the ceiling; one DOWN only")
    func silenceGoesDown() async {
        let h = Harness()
        h.register("a", connection: 1)
        for _ in 0..<20 {
            h.advance(1)
            h.heartbeat("a", connection: 1)
        }
        _ = await h.drain()
        let last = h.wall
        h.advance(10)
        #expect(await h.drain() == ["a:HEALTHY>SUSPECT", "a:SUSPECT>DOWN"])
        let down = try! #require(h.latency(of: "a", to: .down, since: last))
        #expect(down >= 1.5, "never DOWN before interval + margin")
        #expect(down <= 3.0, "always DOWN by 3 intervals")
        let suspect = try! #require(h.latency(of: "a", to: .suspect, since: last))
        #expect(suspect >= 1.0 && suspect < down)
    }

    @Test("a host with jittery heartbeats is given more room than a regular one")
    func adaptsToJitter() async {
        func downLatency(jitter: [Double]) async -> Double {
            let h = Harness()
            h.register("a", connection: 1)
            for i in 0..<60 {
                h.advance(jitter[i % jitter.count])
                h.heartbeat("a", connection: 1)
            }
            _ = await h.drain()
            let last = h.wall
            h.advance(5)
            _ = await h.drain()
            return h.latency(of: "a", to: .down, since: last) ?? .infinity
        }
        let regular = await downLatency(jitter: [1.0])
        let jittery = await downLatency(jitter: [0.6, 1.4, 0.8, 1.2])
        #expect(regular < jittery)
        #expect(jittery <= 3.0)
    }

    @Test("a heartbeat after DOWN is RECOVERED, then HEALTHY after steady heartbeats")
    func recovery() async {
        let h = Harness()
        h.register("a", connection: 1)
        h.heartbeat("a", connection: 1)
        h.advance(4)
        h.heartbeat("a", connection: 1)
        h.advance(1)
        h.heartbeat("a", connection: 1)
        h.advance(1)
        h.heartbeat("a", connection: 1)
        #expect(await h.drain() == ["a:->CONNECTED", "a:CONNECTED>HEALTHY", "a:HEALTHY>SUSPECT", "a:SUSPECT>DOWN", "a:DOWN>RECOVERED", "a:RECOVERED>HEALTHY"])
    }

    @Test("connection lost: DOWN after the reconnect grace, not before")
    func connectionLostGoesDown() async {
        let h = Harness()
        h.register("a", connection: 1)
        h.heartbeat("a", connection: 1)
        _ = await h.drain()
        let lost = h.wall
        h.tracker.connectionLost(hostname: "a", connectionID: 1, cause: "test", now: h.now, wallNow: h.wall)
        h.advance(0.9)
        #expect(await h.drain() == ["a:HEALTHY>SUSPECT"])
        h.advance(0.2)
        #expect(await h.drain() == ["a:SUSPECT>DOWN"])
        let down = try! #require(h.latency(of: "a", to: .down, since: lost))
        #expect(abs(down - 1.0) < 0.05)
    }

    @Test("a reconnect inside the grace raises no DOWN")
    func reconnectWithinGrace() async {
        let h = Harness()
        h.register("a", connection: 1)
        h.heartbeat("a", connection: 1)
        h.tracker.connectionLost(hostname: "a", connectionID: 1, cause: "test", now: h.now, wallNow: h.wall)
        h.advance(0.5)
        h.register("a", connection: 2)
        h.heartbeat("a", connection: 2)
        h.advance(0.8)
        h.heartbeat("a", connection: 2)
        h.advance(0.8)
        #expect(await h.drain() == ["a:->CONNECTED", "a:CONNECTED>HEALTHY", "a:HEALTHY>SUSPECT", "a:SUSPECT>HEALTHY"])
    }

    @Test("unregister is STOPPED, and the close that follows raises nothing")
    func cleanStop() async {
        let h = Harness()
        h.register("a", connection: 1)
        h.heartbeat("a", connection: 1)
        h.tracker.unregister(hostname: "a", connectionID: 1, reason: "SIGTERM", wallNow: h.wall)
        h.tracker.connectionLost(hostname: "a", connectionID: 1, cause: "closed", now: h.now, wallNow: h.wall)
        h.advance(10)
        #expect(await h.drain() == ["a:->CONNECTED", "a:CONNECTED>HEALTHY", "a:HEALTHY>STOPPED"])
    }

    @Test("after a server restart, hosts that come back in the grace raise nothing; the others go DOWN once")
    func restartGrace() async {
        let h = Harness { $0.restartGraceSetting = .seconds(3) }
        let before = h.start.addingTimeInterval(-60)
        let record = { (name: String, state: LivenessState) in
            AgentRecord(hostname: name, state: state, stateSince: before, firstSeen: before, lastSeen: before, agentVersion: nil, protocolVersion: 1, capabilities: [], address: nil)
        }
        h.tracker.restore([record("back", .healthy), record("gone", .healthy), record("stopped", .stopped), record("dead", .down)], now: h.now)
        h.advance(1)
        h.register("back", connection: 1)
        h.heartbeat("back", connection: 1)
        h.advance(1)
        h.heartbeat("back", connection: 1)
        for _ in 0..<10 {  // past the grace, "back" keeps heartbeating
            h.advance(1)
            h.heartbeat("back", connection: 1)
        }
        let events = await h.drain()
        #expect(events.contains("gone:HEALTHY>DOWN"))
        #expect(!events.contains { $0.hasPrefix("back:") && $0.hasSuffix(">DOWN") })
        #expect(!events.contains { $0.hasPrefix("stopped:") || $0.hasPrefix("dead:") })
        #expect(events.filter { $0 == "gone:HEALTHY>DOWN" }.count == 1)
    }

    @Test("a second connection for a host supersedes the first; the old one's loss is ignored")
    func supersede() async {
        let h = Harness()
        var closedIDs: [UInt64] = []
        let first = ConnectionHandle(id: 1) { _, _ in }
        h.tracker.register(hostname: "a", connection: first, info: RegistrationInfo(agentVersion: nil, protocolVersion: 1, capabilities: [], address: nil), now: h.now, wallNow: h.wall)
        let superseded = h.tracker.register(hostname: "a", connection: h.handle(2), info: RegistrationInfo(agentVersion: nil, protocolVersion: 1, capabilities: [], address: nil), now: h.now, wallNow: h.wall)
        if let superseded { closedIDs.append(superseded.id) }
        #expect(closedIDs == [1])
        h.tracker.connectionLost(hostname: "a", connectionID: 1, cause: "superseded", now: h.now, wallNow: h.wall)
        h.heartbeat("a", connection: 2)
        #expect(await h.drain() == ["a:->CONNECTED", "a:CONNECTED>HEALTHY"])
    }

    @Test("during shutdown, connection losses raise nothing")
    func shutdownIsSilent() async {
        let h = Harness()
        h.register("a", connection: 1)
        h.heartbeat("a", connection: 1)
        h.tracker.beginShutdown()
        h.tracker.connectionLost(hostname: "a", connectionID: 1, cause: "server shutting down", now: h.now, wallNow: h.wall)
        h.advance(5)
        #expect(await h.drain() == ["a:->CONNECTED", "a:CONNECTED>HEALTHY"])
    }

    @Test("a host handed over to another cluster member is forgotten here: its close raises neither SUSPECT nor DOWN")
    func handOverForgetsTheHost() async {
        let h = Harness()
        h.register("a", connection: 1)
        h.heartbeat("a", connection: 1)
        _ = await h.drain()
        #expect(!h.tracker.handOver(hostname: "a", connectionID: 2), "another connection's hand-over leaves the host alone")
        #expect(h.tracker.handOver(hostname: "a", connectionID: 1))
        h.tracker.connectionLost(hostname: "a", connectionID: 1, cause: "test", now: h.now, wallNow: h.wall)
        h.advance(5)
        #expect(await h.drain() == [])
        #expect(h.tracker.status(of: "a") == nil)
    }
}

@Suite("Phi accrual detector")
struct PhiAccrualDetectorTests {
    @Test("silence(reachingPhi:) inverts phi(afterSilence:)")
    func inverse() {
        var detector = PhiAccrualDetector(expectedInterval: 1)
        for interval in [0.9, 1.1, 1.0, 0.95, 1.05] { detector.record(interval: interval) }
        for threshold in [1.0, 3.0, 8.0, 12.0] {
            let silence = detector.silence(reachingPhi: threshold)
            #expect(abs(detector.phi(afterSilence: silence) - threshold) < 1e-6)
        }
    }

    @Test("phi grows with silence and is small at the mean")
    func monotonic() {
        let detector = PhiAccrualDetector(expectedInterval: 1)
        #expect(detector.phi(afterSilence: 0.5) < detector.phi(afterSilence: 1.0))
        #expect(detector.phi(afterSilence: 1.0) < detector.phi(afterSilence: 2.0))
        #expect(detector.phi(afterSilence: 1.0) < 0.5)
    }

    @Test("the window forgets old samples")
    func window() {
        var detector = PhiAccrualDetector(expectedInterval: 1)
        for _ in 0..<PhiAccrualDetector.windowSize { detector.record(interval: 5) }
        #expect(abs(detector.mean - 5) < 1e-9)
    }
}
