import Foundation
import Testing
import VigilLocalPostgres

/// The benchmarks of docs/PERFORMANCE.md at a tiny scale, so a change that breaks one is caught
/// here rather than the next time someone measures. They check the run completes and its figures
/// are sane, not speed.
@Suite("vigil-bench smoke runs", .serialized)
struct BenchSmokeTests {
    private func runBench(_ arguments: [String], timeout: Duration = .seconds(120)) async throws -> [String: Any] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-smoke-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bench = try Child(try Binaries.path("vigil-bench"), arguments + ["--json", "--quiet", "--vigil", try Binaries.path("vigil")], name: "bench", directory: directory)
        defer { bench.stop() }
        let status = try await bench.waitForExit(timeout: timeout)
        #expect(status == 0, "vigil-bench \(arguments.joined(separator: " ")) exited \(status.map(String.init) ?? "still running"):\n\(bench.output.suffix(3000))")
        let output = bench.output
        guard let start = output.firstIndex(of: "{"), let object = try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [String: Any] else {
            Issue.record("no JSON report in:\n\(output.suffix(3000))")
            return [:]
        }
        return object
    }

    @Test("cluster: the leader killed twice under agents and chat across members; a new leader each time, every agent back, every message once and in order, no sample gap, no false DOWN",
          .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func cluster() async throws {
        let report = try await self.runBench(["cluster", "--servers", "3", "--agents", "12", "--kills", "2", "--chat-clients", "6"], timeout: .seconds(240))
        let rounds = try #require(report["rounds"] as? [[String: Any]])
        #expect(rounds.count == 2)
        #expect((report["new_leader_max_ms"] as? Double ?? .infinity) < 10_000)
        #expect(report["false_down"] as? Int == 0)
        let chat = try #require(report["chat"] as? [String: Any])
        #expect((chat["sent"] as? Int ?? 0) > 0)
        #expect(chat["acknowledged"] as? Int == chat["sent"] as? Int)
        #expect(chat["delivered"] as? Int == chat["acknowledged"] as? Int)
        #expect(chat["missing"] as? Int == 0)
        #expect(chat["duplicates"] as? Int == 0)
        #expect(chat["out_of_order"] as? Int == 0)
        #expect(report["history_hosts"] as? Int == 12)
        #expect(report["sample_duplicates"] as? Int == 0)
        // A tick the agent itself skipped under load (it logs "fell behind") is the only gap allowed.
        #expect((report["sample_gaps"] as? Int ?? .max) <= 2, "\(report)")
    }

    @Test("messages: every private and broadcast message is delivered once")
    func messages() async throws {
        let report = try await self.runBench(["messages", "--pairs", "2", "--per-sender", "200", "--broadcast-recipients", "5", "--broadcasts", "50", "--window", "32"])
        let privateMessages = try #require(report["private_messages"] as? [String: Any])
        let broadcast = try #require(report["broadcast"] as? [String: Any])
        #expect(privateMessages["deliveries"] as? Int == 400)
        #expect(privateMessages["lost"] as? Int == 0)
        #expect(broadcast["deliveries"] as? Int == 250)
        #expect((privateMessages["delivery_p99_ms"] as? Double ?? 0) > 0)
    }

    @Test("history --stores-only: the SQLite and PostgreSQL metrics stores take the same samples in process")
    func historyStores() async throws {
        let report = try await self.runBench(["history", "--stores-only", "--store-hosts", "4", "--store-samples", "30", "--store-batch", "3", "--requests", "3"])
        let sides = try #require(report["sides"] as? [[String: Any]])
        // PostgreSQL is measured when installed (.ci/run installs it); the report says when not.
        let expected = report["postgres_skipped"] == nil ? ["sqlite", "postgres"] : ["sqlite"]
        #expect(sides.compactMap { $0["store"] as? String } == expected)
        let series = report["series_per_sample"] as? Int ?? 0
        #expect(series > 50)
        for side in sides {
            #expect(side["samples"] as? Int == 120)
            #expect(side["stored_raw_values"] as? Int == 120 * series)
            #expect((side["samples_per_second"] as? Double ?? 0) > 0)
            let latency = side["latency"] as? [String: [String: Any]] ?? [:]
            #expect(latency["points_1h_raw"]?["points"] as? Int == 30)
        }
    }

    @Test("stream: every sample reaches every WebSocket client, with latencies and server CPU")
    func stream() async throws {
        let report = try await self.runBench(["stream", "--clients", "20", "--hosts", "2", "--rate", "5", "--duration", "2"])
        let expected = report["deliveries_expected"] as? Int ?? 0
        #expect(expected >= 150, "deliveries expected: \(expected)")  // 20 clients × ~10 samples of their host
        #expect(report["deliveries"] as? Int == expected)
        #expect(report["unmatched"] as? Int == 0)
        #expect(report["dropped_slow"] as? Int == 0)
        #expect(report["client_failures"] as? Int == 0)
        #expect((report["agent_to_client_p99_ms"] as? Double ?? 0) > 0)
        #expect((report["server_to_client_p50_ms"] as? Double ?? 0) > 0)
        #expect((report["server_cpu_percent_of_one_core"] as? Double ?? -1) >= 0)
    }

    @Test("dashboard: the fleet view's first render is timed in headless Chromium")
    func dashboard() async throws {
        guard try BrowserTools.find() != nil else { return }
        let script = BrowserTools.packageRoot.appendingPathComponent("scripts/dashboard_browser.py").path
        let report = try await self.runBench(["dashboard", "--hosts", "30", "--runs", "1", "--script", script])
        #expect(report["hosts"] as? Int == 30)
        #expect(report["runs"] as? Int == 1)
        let median = report["first_render_median_ms"] as? Double ?? 0
        #expect(median > 0 && median < 60_000, "first render \(median) ms")
    }

    @Test("files: a small file arrives verified, next to the raw copy")
    func files() async throws {
        let report = try await self.runBench(["files", "--size", "8", "--runs", "1"])
        #expect(report["bytes"] as? Int == 8 << 20)
        #expect((report["ratio_best"] as? Double ?? 0) > 0)
        #expect((report["server_peak_rss_mebibytes"] as? Double ?? 0) > 0)
    }

    @Test("connections: every agent is held, heartbeats flow, no false DOWN, source addresses spread")
    func connections() async throws {
        let report = try await self.runBench(["connections", "--agents", "60", "--heartbeat", "0.5", "--hold", "2", "--per-source", "25"])
        #expect(report["connections_held"] as? Int == 60)
        #expect(report["false_down"] as? Int == 0)
        #expect(report["disconnects"] as? Int == 0)
        #expect(report["source_addresses"] as? Int == 3)
        #expect((report["heartbeats_per_second"] as? Double ?? 0) > 0)
    }

    @Test("ingest: live samples are stored at the fleet's rate and timed, heartbeats flow, no false DOWN")
    func ingest() async throws {
        let report = try await self.runBench(["ingest", "--agents", "20", "--heartbeat", "0.5", "--metrics-every", "1", "--hold", "3"])
        #expect(report["connections_held"] as? Int == 20)
        #expect(report["false_down"] as? Int == 0)
        #expect(report["refused"] as? Int == 0)
        #expect(report["disconnects"] as? Int == 0)
        // 20 agents at one sample a second: about 20 samples/s stored, each with its series.
        let samples = report["samples_stored_per_second"] as? Double ?? 0
        #expect(samples > 10 && samples < 30, "samples/s stored: \(samples)")
        let series = report["series_per_sample"] as? Int ?? 0
        #expect((report["values_stored_per_second"] as? Double ?? 0) > samples * Double(series) / 2)
        let latency = try #require(report["latency"] as? [String: Any])
        #expect((latency["count"] as? Int ?? 0) >= 30, "timed samples: \(latency)")
        #expect((latency["p99_ms"] as? Double ?? 0) > 0)
        // The 10 default rules were evaluated on every sample, and their cost measured.
        #expect(report["alert_rules"] as? Int == 10)
        #expect((report["alert_conditions"] as? Int ?? 0) >= 20 * 10)
        #expect((report["alert_evaluation_cpu_percent_of_one_core"] as? Double ?? -1) >= 0)
    }

    @Test("alerts: every killed agent's host_down reaches the bench's webhook once, timed from DOWN and from the kill")
    func alerts() async throws {
        let report = try await self.runBench(["alerts", "--agents", "6", "--kills", "3", "--spacing", "0.2", "--heartbeat", "0.5", "--group-wait", "100ms"])
        #expect(report["notified"] as? Int == 3)
        #expect(report["duplicates"] as? Int == 0)
        #expect(report["false_alerts"] as? Int == 0)
        let latency = try #require(report["down_to_webhook"] as? [String: Any])
        #expect(latency["count"] as? Int == 3)
        #expect((latency["p99"] as? Double ?? 99) < 3)
    }

    @Test("http: every endpoint answers under load, with a rate and latencies")
    func http() async throws {
        let report = try await self.runBench(["http", "--hosts", "20", "--samples", "2", "--history-hours", "2", "--clients", "2", "--duration", "1", "--warmup", "0.2"])
        let endpoints = try #require(report["endpoints"] as? [String: [String: Any]])
        #expect(Set(endpoints.keys) == ["servers", "current", "history_24h", "metrics_fleet"])
        for (name, endpoint) in endpoints {
            #expect((endpoint["requests"] as? Int ?? 0) > 0, "\(name): \(endpoint)")
            #expect((endpoint["requests_per_second"] as? Double ?? 0) > 0, "\(name)")
            let latency = endpoint["latency"] as? [String: Any] ?? [:]
            #expect((latency["p99_ms"] as? Double ?? 0) > 0, "\(name): \(latency)")
        }
        // The server's own render time for /metrics/fleet, read from its /metrics.
        let render = try #require(report["fleet_render"] as? [String: Any])
        #expect((render["count"] as? Int ?? 0) > 0, "\(render)")
    }

    @Test("exposition: /metrics/fleet rendered in-process, timed, one line per value")
    func exposition() async throws {
        let report = try await self.runBench(["exposition", "--hosts", "50", "--rounds", "3"])
        #expect(report["hosts"] as? Int == 50)
        // 50 simulated hosts: liveness, CPU and memory, 3 file systems, 2 interfaces, 2 disks each.
        #expect((report["lines"] as? Int ?? 0) > 50 * 60, "\(report)")
        let cpu = try #require(report["cpu_milliseconds"] as? [String: Any])
        #expect((cpu["median"] as? Double ?? 0) > 0, "\(cpu)")
    }

    @Test("detect: hung and crashed agents are DOWN within the watch, no false DOWN among the rest")
    func detect() async throws {
        let report = try await self.runBench(["detect", "--agents", "30", "--silent", "2", "--killed", "2", "--heartbeat", "0.5", "--settle", "4", "--watch", "8"])
        let silent = try #require(report["silent"] as? [String: Any])
        let killed = try #require(report["killed"] as? [String: Any])
        #expect(silent["detected"] as? Int == 2)
        #expect(killed["detected"] as? Int == 2)
        #expect(report["false_down"] as? Int == 0)
        // A silent host is never DOWN before interval + margin (1.5 intervals by default).
        #expect((silent["p50_intervals"] as? Double ?? 0) >= 1.4)
    }
}
