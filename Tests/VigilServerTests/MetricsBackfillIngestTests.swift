import Foundation
import Testing
import VigilMetrics
import VigilProtocol
import VigilStore
@testable import VigilServer

/// Back-filled samples (an agent replaying its spool) through a real in-process server: stored and
/// acknowledged, once, without moving the host's current figures back.
@Suite("Metrics back-fill ingest", .serialized)
struct MetricsBackfillIngestTests {
    func registered(_ server: TestServer, _ host: String) async throws -> RawPeer {
        let peer = try await RawPeer.connect(port: server.agentPort)
        try await peer.register(key: try await server.key(for: host), hostname: host)
        #expect(try await peer.response()?.success == true)
        return peer
    }

    @Test("an out-of-order sample is stored and acknowledged but does not move current back; a resend is acknowledged and stored once")
    func currentNeverGoesBack() async throws {
        try await TestServer.with { server in
            let peer = try await self.registered(server, "replayer")
            let now = Date()
            // Live: the newest sample.
            try await peer.send(Envelope(.metrics(MetricsIngestTests.document(at: now, cpu: 50)), messageID: "live"))
            #expect(try await peer.response()?.inReplyTo == "live")
            // Back-fill: older samples, one of them twice.
            for (id, age, cpu) in [("old-1", 30.0, 10.0), ("old-2", 20.0, 20.0), ("old-1-again", 30.0, 10.0)] {
                try await peer.send(Envelope(.metrics(MetricsIngestTests.document(at: now - age, cpu: cpu)), messageID: id))
                let answer = try #require(try await peer.response())
                #expect(answer.success && !answer.fatal && answer.inReplyTo == id, "\(id): \(answer.message)")
            }
            let latest = try #require(server.server.metrics.latest.sample(for: "replayer"))
            #expect(latest.document.cpu?.cpuPercentTotal == 50, "current is still the newest sample")
            #expect(abs(latest.document.timestamp.timeIntervalSince(now)) < 0.002)
            #expect(server.server.metrics.backfilledCount == 3)
            let t = now.timeIntervalSince1970
            let points = try await server.server.history.points(hostname: "replayer", series: "cpu.cpu_percent_total", from: t - 60, to: t + 1, resolution: .raw)
            #expect(points.map(\.avg) == [10, 20, 50], "in time order, each once")
            // A live sample after the back-fill is current again.
            try await peer.send(Envelope(.metrics(MetricsIngestTests.document(at: now + 1, cpu: 60)), messageID: "live-2"))
            #expect(try await peer.response()?.inReplyTo == "live-2")
            #expect(server.server.metrics.latest.sample(for: "replayer")?.document.cpu?.cpuPercentTotal == 60)
            await peer.close()
        }
    }

    @Test("back-fill has its own rate budget: a replay is not refused by metrics.rate_limit and does not use it up")
    func ownRateBudget() async throws {
        let server = try await TestServer.start {
            $0.metricsRateLimit = 0.001
            $0.metricsRateBurst = 2
            $0.metricsBackfillRateLimit = 0.001
            $0.metricsBackfillRateBurst = 5
        }
        defer { Task { await server.stop() } }
        let peer = try await self.registered(server, "budget")
        let now = Date()
        try await peer.send(Envelope(.metrics(MetricsIngestTests.document(at: now)), messageID: "live"))
        #expect(try await peer.response()?.success == true)
        var codes: [ErrorCode?] = []
        for index in 1...6 {
            try await peer.send(Envelope(.metrics(MetricsIngestTests.document(at: now - Double(index))), messageID: "old-\(index)"))
            codes.append(try #require(try await peer.response()).code)
        }
        #expect(codes == [nil, nil, nil, nil, nil, .rateLimited], "a burst of 5 back-filled samples, then the back-fill budget is spent")
        // The live budget (burst 2) still has its second token.
        try await peer.send(Envelope(.metrics(MetricsIngestTests.document(at: now + 1)), messageID: "live-2"))
        #expect(try await peer.response()?.success == true)
        await peer.close()
    }
}
