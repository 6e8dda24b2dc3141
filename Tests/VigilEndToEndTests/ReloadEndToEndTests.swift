import Foundation
import Testing

/// The configuration reloaded in a real `vigil server` (started with `--config`): `vigil reload`,
/// and a new heartbeat interval reaching a connected real `vigil-agent` without a reconnect.
@Suite("Configuration reload with the real binaries", .serialized)
struct ReloadEndToEndTests {
    /// A `vigil server --config FILE` on free ports in a fresh directory.
    struct ConfiguredServer {
        let directory: URL
        let server: Child
        let agentPort: Int
        let api: API
        var config: URL { self.directory.appendingPathComponent("server.yaml") }
        var data: URL { self.directory.appendingPathComponent("data") }

        static func start(_ yaml: String) async throws -> ConfiguredServer {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-reload-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let config = directory.appendingPathComponent("server.yaml")
            try yaml.write(to: config, atomically: true, encoding: .utf8)
            let ready = directory.appendingPathComponent("ready.json")
            let server = try Child(try Binaries.path("vigil"), [
                "server", "--config", config.path, "--data-dir", directory.appendingPathComponent("data").path,
                "--agent-port", "0", "--http-port", "0", "--ready-file", ready.path,
            ], name: "server", directory: directory)
            let ports = try await waitFor("the server's ready file", timeout: .seconds(30)) { () -> (agent: Int, http: Int)? in
                let json = try JSONSerialization.jsonObject(with: Data(contentsOf: ready)) as? [String: Int]
                guard let agent = json?["agent_port"], let http = json?["http_port"] else { return nil }
                return (agent, http)
            }
            return ConfiguredServer(directory: directory, server: server, agentPort: ports.agent, api: API(port: ports.http))
        }

        func write(_ yaml: String) throws {
            try yaml.write(to: self.config, atomically: true, encoding: .utf8)
        }

        /// `vigil ARGS` to completion, without blocking the test's thread.
        func vigil(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            let child = try Child(try Binaries.path("vigil"), arguments, name: "vigil-\(arguments.first ?? "")-\(UUID().uuidString.prefix(6))", directory: self.directory)
            defer { child.stop() }
            guard let status = try await child.waitForExit(timeout: .seconds(60)) else {
                throw E2EError("vigil \(arguments.joined(separator: " ")) still running; output:\n\(child.output)")
            }
            return (status, child.output)
        }

        func heartbeatInterval() async throws -> Double? {
            (try await self.api.get("/api/health") as? [String: Any])?["heartbeat_interval"] as? Double
        }

        func stop() {
            self.server.stop()
            try? FileManager.default.removeItem(at: self.directory)
        }
    }

    @Test("vigil reload: a hot key changes at once, a restart-only key is reported; a YAML syntax error is printed (exit 1) and changes nothing")
    func vigilReload() async throws {
        let server = try await ConfiguredServer.start("heartbeat:\n  interval: 1s\n")
        defer { server.stop() }
        #expect(try await server.heartbeatInterval() == 1)

        try server.write("heartbeat:\n  interval: 2s\nagents:\n  max_connections: 50\n")
        let reloaded = try await server.vigil(["reload", "--data-dir", server.data.path])
        #expect(reloaded.status == 0, "\(reloaded.output)")
        #expect(reloaded.output.contains("changed: heartbeat.interval"), "\(reloaded.output)")
        #expect(reloaded.output.contains("agents.max_connections changes at the next restart"), "\(reloaded.output)")
        #expect(try await server.heartbeatInterval() == 2)
        #expect(server.server.output.contains("configuration reloaded"))
        let status = server.data.appendingPathComponent("reload-status.json").path
        let mode = try FileManager.default.attributesOfItem(atPath: status)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        try server.write("heartbeat:\n  interval: [3s\n")
        let broken = try await server.vigil(["reload", "--data-dir", server.data.path])
        #expect(broken.status == 1, "\(broken.output)")
        #expect(broken.output.contains("is not valid YAML"), "\(broken.output)")
        #expect(server.server.output.contains("configuration reload failed"))
        // Still running, with the configuration of the last good reload.
        #expect(try await server.heartbeatInterval() == 2)
        let reloads = try await server.api.get("/api/admin/reloads") as? [[String: Any]] ?? []
        #expect(reloads.map { $0["success"] as? Bool } == [false, true])
        #expect(reloads.allSatisfy { $0["trigger"] as? String == "sighup" })
    }

    @Test("a heartbeat and metrics interval change reaches a connected vigil-agent on the same connection; the longer interval raises no false DOWN")
    func agentFollowsNewInterval() async throws {
        let server = try await ConfiguredServer.start("heartbeat:\n  interval: 1s\n")
        defer { server.stop() }
        let created = try await server.vigil(["keys", "create", "--key-only", "--host", "follower", "--data-dir", server.data.path])
        #expect(created.status == 0)
        // The key alone (the output holds the command's note on standard error too).
        let key = try #require(created.output.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("vk_") }, "\(created.output)")
        let agent = try Child(try Binaries.path("vigil-agent"), [
            "--server", "127.0.0.1:\(server.agentPort)", "--ca", server.data.appendingPathComponent("tls/ca.pem").path,
            "--key", String(key), "--hostname", "follower", "--log-level", "trace",
        ], name: "agent", directory: server.directory)
        defer { agent.stop() }
        _ = try await waitFor("follower HEALTHY", timeout: .seconds(20)) { try await server.api.state(of: "follower") == "HEALTHY" ? true : nil }
        let heartbeats = { agent.output.components(separatedBy: "\n").filter { $0.hasSuffix("] heartbeat sent") }.count }
        let samples = { agent.output.components(separatedBy: "\n").filter { $0.hasSuffix("] metrics sent") }.count }
        // A few heartbeats at 1 s first: the detector has a 1 s history when the interval grows.
        let early = heartbeats()
        _ = try await waitFor("three heartbeats at 1 s") { heartbeats() >= early + 3 ? true : nil }

        // Samples at the agent's own interval (5 s) until the server asks for 1 s.
        try server.write("heartbeat:\n  interval: 3s\nagents:\n  metrics_interval: 1s\n")
        let reloaded = try await server.vigil(["reload", "--data-dir", server.data.path])
        #expect(reloaded.status == 0, "\(reloaded.output)")
        #expect(reloaded.output.contains("changed: heartbeat.interval, agents.metrics_interval"), "\(reloaded.output)")
        _ = try await waitFor("the agent to take the new parameters") {
            agent.output.contains("session parameters updated by the server") ? true : nil
        }
        let updatedAt = ContinuousClock.now
        let atUpdate = heartbeats()
        let samplesAtUpdate = samples()
        // Two more heartbeats take about 6 s at the new interval (2 s at the old one).
        _ = try await waitFor("two heartbeats at the new interval", timeout: .seconds(15)) { heartbeats() >= atUpdate + 2 ? true : nil }
        let elapsed = ContinuousClock.now - updatedAt
        #expect(elapsed > .milliseconds(4500), "two heartbeats \(elapsed) after the update: still the old rhythm")
        // Samples every second from the next one on (the one already scheduled on the 5 s grid
        // may come up to 5 s after the update): four within 11 s; at 5 s they would take 15 s.
        _ = try await waitFor("four samples at the new metrics interval", timeout: .seconds(11)) { samples() >= samplesAtUpdate + 4 ? true : nil }
        // Another interval and more: the host stays HEALTHY, nothing went SUSPECT or DOWN.
        try await Task.sleep(for: .seconds(4))
        #expect(try await server.api.state(of: "follower") == "HEALTHY")
        let events = try await server.api.events().filter { $0.hostname == "follower" }
        #expect(!events.contains { ["SUSPECT", "DOWN"].contains($0.to) }, "\(events.map(\.to))")
        // The same connection throughout: one registration, on both sides.
        let agentLines = agent.output.components(separatedBy: "\n")
        #expect(agentLines.filter { $0.hasSuffix("] registered") }.count == 1, "\(agent.output)")
        #expect(server.server.output.components(separatedBy: "\n").filter { $0.contains("agent registered") }.count == 1)
        #expect(try await server.heartbeatInterval() == 3)
    }
}
