import Foundation
import Testing

/// Metrics from the real agent and from `curl`, through the real server, read back over the API.
@Suite("Metrics end to end (real binaries)", .serialized)
struct MetricsEndToEndTests {
    /// `curl` as a script would use it. Returns the status code and the body.
    func post(_ fleet: Fleet, key: String?, body: Data) throws -> (Int, [String: Any]) {
        let file = fleet.directory.appendingPathComponent("body-\(UUID().uuidString).json")
        try body.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "-H", "Content-Type: application/json", "--data-binary", "@\(file.path)"]
        if let key { arguments += ["-H", "X-API-Key: \(key)"] }
        arguments.append("http://127.0.0.1:\(fleet.api.port)/api/metrics")
        let (status, output) = try run("/usr/bin/curl", arguments)
        guard status == 0, let split = output.lastIndex(of: "\n"), let code = Int(output[output.index(after: split)...]) else {
            throw E2EError("curl exited \(status): \(output)")
        }
        let json = (try? JSONSerialization.jsonObject(with: Data(output[..<split].utf8))) as? [String: Any] ?? [:]
        return (code, json)
    }

    @Test("agent samples at 1 s appear in /api/servers and /history; curl posts are stored; bad posts get 401, 400, 413")
    func metricsEndToEnd() async throws {
        var fleet = try await Fleet.start()
        defer { fleet.stop() }
        let agent = try fleet.agent("metered", key: try fleet.key(for: "metered"), extraArguments: ["--metrics-interval", "1"])

        // The agent's samples: the overview lists the host with plausible figures.
        let summary = try await waitFor("metered in /api/servers with CPU figures", timeout: .seconds(15)) { () -> [String: Any]? in
            let servers = try await fleet.api.get("/api/servers") as? [[String: Any]] ?? []
            guard let host = servers.first(where: { $0["hostname"] as? String == "metered" }), host["cpu_percent"] is Double else { return nil }
            return host
        }
        #expect(summary["state"] as? String != nil)
        #expect(summary["agent_version"] as? String == "vigil-agent/0.1.0")
        let cpu = try #require(summary["cpu_percent"] as? Double)
        #expect((0...100).contains(cpu))
        let memory = try #require(summary["memory_percent"] as? Double)
        #expect(memory > 0 && memory < 100)
        let memoryTotal = try #require(summary["memory_total"] as? Int)
        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let kib = Int(meminfo.split(separator: "\n").first!.split(separator: " ", omittingEmptySubsequences: true)[1])!
        #expect(memoryTotal == kib * 1024)
        let disk = try #require(summary["disk"] as? [String: Any])
        #expect((disk["total"] as? Int ?? 0) > 0)

        // History: several 1 s samples, in order.
        let points = try await waitFor("3 history points", timeout: .seconds(15)) { () -> [[String: Any]]? in
            let history = try await fleet.api.get("/api/servers/metered/history?metric=memory.percent") as? [String: Any]
            let points = history?["points"] as? [[String: Any]] ?? []
            return points.count >= 3 ? points : nil
        }
        let times = points.compactMap { $0["t"] as? Double }
        #expect(times == times.sorted())
        #expect(points.allSatisfy { ($0["value"] as? Double).map { $0 > 0 && $0 < 100 } ?? false })
        let current = try await fleet.api.get("/api/servers/metered/current") as? [String: Any]
        let system = (current?["metrics"] as? [String: Any])?["system"] as? [String: Any]
        #expect((system?["kernel"] as? String)?.isEmpty == false)
        _ = agent

        // A script with only curl: the key decides the host, the body's hostname is ignored,
        // unknown fields are ignored.
        let key = try fleet.key(for: "scripted")
        let document = """
            {"hostname": "something-else", "timestamp": "\(Date().formatted(.iso8601))", "comment": "ignored",
             "cpu": {"cpu_percent_total": 42.5, "cpu_count_logical": 4, "load_average": [0.5, 0.4, 0.3]},
             "memory": {"memory_total": 8000, "memory_available": 6000, "memory_used": 2000, "memory_free": 5000,
                        "memory_percent": 25.0, "swap_total": 0, "swap_used": 0, "swap_free": 0, "swap_percent": 0}}
            """
        let (code, body) = try self.post(fleet, key: key, body: Data(document.utf8))
        #expect(code == 200)
        #expect(body["status"] as? String == "success")
        #expect(body["hostname"] as? String == "scripted")
        let scripted = try await waitFor("scripted in history", timeout: .seconds(10)) { () -> [[String: Any]]? in
            let history = try await fleet.api.get("/api/servers/scripted/history?metric=cpu.percent") as? [String: Any]
            let points = history?["points"] as? [[String: Any]] ?? []
            return points.isEmpty ? nil : points
        }
        #expect(scripted.first?["value"] as? Double == 42.5)
        let servers = try await fleet.api.get("/api/servers") as? [[String: Any]] ?? []
        #expect(servers.first { $0["hostname"] as? String == "scripted" }?["memory_percent"] as? Double == 25.0)

        // Refusals.
        let (noKey, noKeyBody) = try self.post(fleet, key: nil, body: Data(document.utf8))
        #expect(noKey == 401)
        #expect(noKeyBody["error"] as? String == "key_required")
        let (badKey, _) = try self.post(fleet, key: "vk_aaaaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", body: Data(document.utf8))
        #expect(badKey == 401)
        let (badType, badTypeBody) = try self.post(fleet, key: key, body: Data(#"{"cpu": {"cpu_percent_total": "high", "cpu_count_logical": 4}}"#.utf8))
        #expect(badType == 400)
        #expect((badTypeBody["detail"] as? String)?.contains("cpu.cpu_percent_total") == true)
        let huge = Data(("{\"comment\": \"" + String(repeating: "x", count: 2 << 20) + "\"}").utf8)
        let (tooLarge, tooLargeBody) = try self.post(fleet, key: key, body: huge)
        #expect(tooLarge == 413)
        #expect(tooLargeBody["error"] as? String == "body_too_large")
    }
}
