import Foundation
import Testing

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
