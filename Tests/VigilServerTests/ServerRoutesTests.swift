import Foundation
import Hummingbird
import HummingbirdCore
import Testing
import VigilMetrics
import VigilStore
@testable import VigilServer

/// `GET /api/servers…` against an in-process server fed over HTTP.
@Suite("Server routes", .serialized)
struct ServerRoutesTests {
    /// A server with one host that posted `count` samples 5 s apart, ending now.
    func serverWithSamples(_ count: Int, host: String = "web-1", _ configure: @escaping @Sendable (inout ServerSettings) -> Void = { _ in }) async throws -> (TestServer, Date) {
        let server = try await TestServer.start {
            $0.metricsFlushInterval = .milliseconds(20)
            $0.metricsRateBurst = 1000
            configure(&$0)
        }
        let key = try await server.key(for: host)
        let end = Date()
        for index in 0..<count {
            let at = end - Double(count - 1 - index) * 5
            let (status, _, _) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: try MetricsIngestTests.json(MetricsIngestTests.document(at: at, cpu: Double(index))))
            #expect(status == 200)
        }
        try await eventually(timeout: .seconds(5), "samples stored") { server.server.metrics.pendingCount == 0 }
        return (server, end)
    }

    @Test("the overview lists every host with its headline figures; host pages answer from the latest sample")
    func overviewAndSections() async throws {
        let (server, _) = try await self.serverWithSamples(3)
        defer { Task { await server.stop() } }
        let (status, _, json) = try await server.http("GET", "/api/servers")
        #expect(status == 200)
        let hosts = try #require(json as? [[String: Any]])
        let host = try #require(hosts.first { $0["hostname"] as? String == "web-1" })
        #expect(host["cpu_percent"] as? Double == 2)
        #expect(host["memory_percent"] as? Double == 40)
        #expect((host["disk"] as? [String: Any])?["percent"] as? Double == 30)
        #expect((host["disk"] as? [String: Any])?["fullest_mountpoint"] as? String == "/")
        #expect(host["state"] is NSNull, "a host that only posts over HTTP has no liveness state")

        let (diskStatus, _, disk) = try await server.http("GET", "/api/servers/web-1/disk")
        #expect(diskStatus == 200)
        #expect(((disk as? [String: Any])?["partitions"] as? [[String: Any]])?.first?["mountpoint"] as? String == "/")
        let (networkStatus, _, _) = try await server.http("GET", "/api/servers/web-1/network")
        #expect(networkStatus == 200)
        let (processStatus, _, processes) = try await server.http("GET", "/api/servers/web-1/processes")
        #expect(processStatus == 200)
        #expect((processes as? [String: Any])?["top_cpu"] as? [Any] != nil)
        let (eventsStatus, _, _) = try await server.http("GET", "/api/servers/web-1/events")
        #expect(eventsStatus == 200)
        let (metricsStatus, _, metrics) = try await server.http("GET", "/api/servers/web-1/metrics")
        #expect(metricsStatus == 200)
        #expect(((metrics as? [String: Any])?["series"] as? [String])?.contains("disk.partitions[/].percent") == true)
    }

    @Test("history returns the samples in order; stats summarise them; aliases and dotted paths both work")
    func historyAndStats() async throws {
        let (server, end) = try await self.serverWithSamples(4)
        defer { Task { await server.stop() } }
        let from = Int(end.timeIntervalSince1970) - 60
        var (status, _, json) = try await server.http("GET", "/api/servers/web-1/history?metric=cpu.percent&from=\(from)")
        #expect(status == 200)
        var body = try #require(json as? [String: Any])
        #expect(body["metric"] as? String == "cpu.cpu_percent_total")
        #expect(body["resolution"] as? String == "raw")
        #expect((body["points"] as? [[String: Any]])?.compactMap { $0["value"] as? Double } == [0, 1, 2, 3])

        (status, _, json) = try await server.http("GET", "/api/servers/web-1/history?metric=disk.partitions%5B/%5D.percent&from=\(from)")
        #expect(status == 200)
        #expect(((json as? [String: Any])?["points"] as? [[String: Any]])?.count == 4)

        // A 1 h step from raw samples: one bucket (or two across an hour boundary) holding all four.
        (status, _, json) = try await server.http("GET", "/api/servers/web-1/history?metric=cpu.percent&from=\(from)&step=1h")
        #expect(status == 200)
        body = try #require(json as? [String: Any])
        let buckets = try #require(body["points"] as? [[String: Any]])
        #expect(buckets.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } == 4)

        (status, _, json) = try await server.http("GET", "/api/servers/web-1/stats?metric=cpu.percent&from=\(from)")
        #expect(status == 200)
        let stats = try #require(((json as? [String: Any])?["metrics"] as? [String: Any])?["cpu.cpu_percent_total"] as? [String: Any])
        #expect(stats["min"] as? Double == 0)
        #expect(stats["max"] as? Double == 3)
        #expect(stats["avg"] as? Double == 1.5)
        #expect(stats["count"] as? Int == 4)
    }

    @Test("errors are JSON with the right status: unknown host 404, missing metric 400, unknown metric 404, bad times 400")
    func errors() async throws {
        let (server, _) = try await self.serverWithSamples(1)
        defer { Task { await server.stop() } }
        let cases: [(String, Int, String)] = [
            ("/api/servers/nowhere/current", 404, "not_found"),
            ("/api/servers/nowhere/history?metric=cpu.percent", 404, "not_found"),
            ("/api/servers/web-1/history", 400, "missing_parameter"),
            ("/api/servers/web-1/history?metric=no.such.series", 404, "unknown_metric"),
            ("/api/servers/web-1/history?metric=cpu.percent&from=yesterday", 400, "invalid_parameter"),
            ("/api/servers/web-1/history?metric=cpu.percent&from=2000&to=1000", 400, "invalid_parameter"),
            ("/api/servers/web-1/history?metric=cpu.percent&step=-5", 400, "invalid_parameter"),
            ("/api/servers/web-1/history?metric=cpu.percent&resolution=5m", 400, "invalid_parameter"),
            ("/api/servers/web-1/events?limit=0", 400, "invalid_parameter"),
        ]
        for (path, expected, error) in cases {
            let (status, _, json) = try await server.http("GET", path)
            #expect(status == expected, "\(path)")
            #expect((json as? [String: String])?["error"] == error, "\(path)")
            #expect((json as? [String: String])?["detail"]?.isEmpty == false, "\(path)")
        }
    }

    @Test("an answer over api.max_history_points and a /stats over api.max_stats_metrics are refused with 400")
    func pointLimits() async throws {
        let (server, end) = try await self.serverWithSamples(3) {
            $0.maxHistoryPoints = 2
            $0.maxStatsMetrics = 1
        }
        defer { Task { await server.stop() } }
        let from = Int(end.timeIntervalSince1970) - 60
        var (status, _, json) = try await server.http("GET", "/api/servers/web-1/history?metric=cpu.percent&from=\(from)")
        #expect(status == 400)
        #expect((json as? [String: String])?["error"] == "too_many_points")
        (status, _, json) = try await server.http("GET", "/api/servers/web-1/history?metric=cpu.percent&from=\(from)&step=1h")
        #expect(status == 200, "a larger step fits")
        (status, _, json) = try await server.http("GET", "/api/servers/web-1/stats?metric=cpu.percent&metric=memory.percent")
        #expect(status == 400)
        #expect((json as? [String: String])?["detail"]?.contains("api.max_stats_metrics") == true)
    }

    @Test("the resolution follows the range, and falls back to rollups past raw retention")
    func resolutionChoice() throws {
        let now = 10_000_000.0
        let retention = MetricsRetention()
        func query(_ text: String) throws -> HistoryQuery {
            try HistoryQuery(URI(text).queryParameters, now: now, retention: retention)
        }
        #expect(try query("/?from=\(now - 3600)&to=\(now)").resolution == .raw)
        #expect(try query("/?from=\(now - 86_400)&to=\(now)").resolution == .minute)
        #expect(try query("/?from=\(now - 30 * 86_400)&to=\(now)").resolution == .hour)
        // One hour, but eight days ago: raw is gone (7 d), so per-minute rollups answer.
        #expect(try query("/?from=\(now - 8 * 86_400)&to=\(now - 8 * 86_400 + 3600)").resolution == .minute)
        // A step picks the coarsest level that fits in it and re-buckets.
        let stepped = try query("/?from=\(now - 3600)&to=\(now)&step=5m")
        #expect(stepped.resolution == .minute)
        #expect(stepped.step == 300)
        #expect(try query("/?from=\(now - 3600)&to=\(now)&step=1m").step == nil)
    }

    @Test("re-bucketing merges min, max, count-weighted average and last")
    func rebucket() {
        let points = [
            SeriesPoint(timestamp: 0, min: 1, max: 5, avg: 2, last: 4, count: 2),
            SeriesPoint(timestamp: 60, min: 0, max: 9, avg: 5, last: 3, count: 2),
            SeriesPoint(timestamp: 300, value: 7),
        ]
        let merged = HistoryQuery.rebucket(points, step: 300)
        #expect(merged == [
            SeriesPoint(timestamp: 0, min: 0, max: 9, avg: 3.5, last: 3, count: 4),
            SeriesPoint(timestamp: 300, value: 7),
        ])
    }
}
