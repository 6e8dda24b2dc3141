import Foundation
import NIOCore
import Testing
import VigilAPI
import VigilStore
@testable import VigilServer

/// `vigil_liveness_detection_seconds`: the tracker tells the server's figures how long after a
/// host's last heartbeat it was declared DOWN, and only when that is a detection.
@Suite("Detection latency histogram")
struct DetectionLatencyTests {
    /// The histogram's `_count` and `_sum`.
    static func figures(_ metrics: ServerMetrics) -> (count: Int, sum: Double) {
        var count = 0
        var sum = 0.0
        for line in String(decoding: metrics.emit(), as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { continue }
            if parts[0] == "vigil_liveness_detection_seconds_count" { count = Int(parts[1]) ?? -1 }
            if parts[0] == "vigil_liveness_detection_seconds_sum" { sum = Double(parts[1]) ?? -1 }
        }
        return (count, sum)
    }

    @Test("silence on an open connection and a lost connection not re-established count; a host missing after a server start does not")
    func recorded() {
        var settings = ServerSettings()
        settings.heartbeatInterval = .seconds(1)
        let metrics = ServerMetrics()
        let (_, continuation) = AsyncStream<LivenessUpdate>.makeStream()
        let policy = LivenessPolicy(settings: settings)
        let tracker = LivenessTracker(policy: policy, updates: continuation, metrics: metrics)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        var wall: Date { start.addingTimeInterval(Double(now.uptimeNanoseconds - 1_000_000_000_000) / 1e9) }
        func advance(_ seconds: Double) {
            for _ in 0..<Int(seconds * 10) {
                now = now + .milliseconds(100)
                tracker.sweep(now: now, wallNow: wall)
            }
        }
        let info = RegistrationInfo(agentVersion: nil, protocolVersion: 1, capabilities: [], address: nil)

        // Restored as alive, never back: DOWN after the restart grace, not a detection.
        tracker.restore([AgentRecord(
            hostname: "gone", state: .healthy, stateSince: start, firstSeen: start, lastSeen: start.addingTimeInterval(-3600),
            agentVersion: nil, protocolVersion: 1, capabilities: [], address: nil
        )], now: now)
        for (id, host) in ["silent", "lost"].enumerated() {
            tracker.register(hostname: host, connection: ConnectionHandle(id: UInt64(id + 1)) { _, _ in }, info: info, now: now, wallNow: wall)
        }
        for _ in 0..<5 {
            advance(1)
            tracker.heartbeat(hostname: "silent", connectionID: 1, now: now, wallNow: wall)
            tracker.heartbeat(hostname: "lost", connectionID: 2, now: now, wallNow: wall)
        }
        tracker.connectionLost(hostname: "lost", connectionID: 2, cause: "reset", now: now, wallNow: wall)
        advance(policy.restartGrace + 1)

        #expect(tracker.status(of: "gone")?.state == .down)
        #expect(tracker.status(of: "silent")?.state == .down)
        #expect(tracker.status(of: "lost")?.state == .down)
        let (count, sum) = Self.figures(metrics)
        #expect(count == 2, "silent and lost, not gone")
        // Each within the detector's bounds: the silent one between the floor and the ceiling, the
        // lost one after the reconnect grace.
        #expect(sum >= policy.downFloor + policy.reconnectGrace - 0.2 && sum <= policy.downCeiling + policy.reconnectGrace + 0.4, "sum \(sum)")
    }
}
