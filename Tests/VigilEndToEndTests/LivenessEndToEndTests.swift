import Foundation
import Testing

/// The real `vigil` and `vigil-agent` binaries, at a 1 s heartbeat interval.
@Suite("Liveness end to end (real binaries)", .serialized)
struct LivenessEndToEndTests {
    @Test("crash, hang, clean stop and server restart, each detected as it should be")
    func liveness() async throws {
        var fleet = try await Fleet.start()
        defer { fleet.stop() }
        let keyA = try fleet.key(for: "alpha")
        let keyB = try fleet.key(for: "bravo")
        let alpha = try fleet.agent("alpha", key: keyA)
        let bravo = try fleet.agent("bravo", key: keyB)
        for host in ["alpha", "bravo"] {
            _ = try await waitFor("\(host) HEALTHY") { try await fleet.api.state(of: host) == "HEALTHY" ? true : nil }
        }
        // Let a few heartbeats establish the rhythm the detector learns.
        try await Task.sleep(for: .seconds(3))

        // SIGKILL: the socket closes; DOWN after the 1 s reconnect grace, well within 2 s.
        let killedAt = Date()
        alpha.signal(SIGKILL)
        let crash = try await fleet.event("alpha", "DOWN", after: killedAt).at.timeIntervalSince(killedAt)
        print("detection: crash (SIGKILL) -> DOWN in \(String(format: "%.3f", crash)) s")
        #expect(crash < 2.0)

        // SIGSTOP: silent with the socket open; DOWN within 3 intervals, RECOVERED within 1 s of SIGCONT.
        let stoppedAt = Date()
        bravo.signal(SIGSTOP)
        let hang = try await fleet.event("bravo", "DOWN", after: stoppedAt).at.timeIntervalSince(stoppedAt)
        print("detection: hang (SIGSTOP) -> DOWN in \(String(format: "%.3f", hang)) s")
        #expect(hang < 3.0)
        let continuedAt = Date()
        bravo.signal(SIGCONT)
        let recovery = try await fleet.event("bravo", "RECOVERED", after: continuedAt).at.timeIntervalSince(continuedAt)
        print("detection: SIGCONT -> RECOVERED in \(String(format: "%.3f", recovery)) s")
        #expect(recovery < 1.0)
        _ = try await waitFor("bravo HEALTHY again") { try await fleet.api.state(of: "bravo") == "HEALTHY" ? true : nil }

        // SIGTERM: the agent unregisters; STOPPED, and no DOWN follows.
        let terminatedAt = Date()
        bravo.signal(SIGTERM)
        #expect(try await bravo.waitForExit() == 0, "the agent exits 0 after a clean shutdown")
        _ = try await fleet.event("bravo", "STOPPED", after: terminatedAt)
        try await Task.sleep(for: .seconds(2.5))
        #expect(try await fleet.api.events().filter { $0.hostname == "bravo" && $0.at >= terminatedAt }.map(\.to) == ["STOPPED"])

        // Server restart: connected agents reconnect and no DOWN is raised for them.
        _ = try fleet.agent("alpha", key: keyA)
        _ = try await waitFor("alpha HEALTHY after restart of the agent") { try await fleet.api.state(of: "alpha") == "HEALTHY" ? true : nil }
        fleet.server.signal(SIGTERM)
        #expect(try await fleet.server.waitForExit() == 0, "the server shuts down cleanly on SIGTERM")
        let restartedAt = Date()
        let (server, ports) = try await Fleet.startServer(fleet.vigil, directory: fleet.directory, agentPort: fleet.agentPort)
        fleet.server = server
        fleet.api = API(port: ports.http)
        _ = try await waitFor("alpha to reconnect") {
            let agents = try await fleet.api.get("/api/agents") as? [[String: Any]] ?? []
            return agents.contains { $0["hostname"] as? String == "alpha" && $0["connected"] as? Bool == true } ? true : nil
        }
        // Wait past the restart grace (4 s): a host that had not come back would be DOWN by now.
        try await Task.sleep(for: .seconds(5))
        let afterRestart = try await fleet.api.events().filter { $0.hostname == "alpha" && $0.at >= restartedAt }
        #expect(!afterRestart.contains { $0.to == "DOWN" || $0.to == "SUSPECT" }, "no alert for an agent that reconnected: \(afterRestart.map(\.to))")
        #expect(try await fleet.api.state(of: "alpha") == "HEALTHY")
    }

    @Test("a wrong key is refused with the reason; a revoked key stops working for new connections")
    func keys() async throws {
        var fleet = try await Fleet.start()
        defer { fleet.stop() }
        let wrong = try fleet.agent("intruder", key: "vk_abcdefghijkl_" + String(repeating: "x", count: 43))
        #expect(try await wrong.waitForExit() == 77)
        #expect(wrong.output.contains("invalid_key"))

        let key = try fleet.key(for: "charlie")
        let charlie = try fleet.agent("charlie", key: key)
        _ = try await waitFor("charlie HEALTHY") { try await fleet.api.state(of: "charlie") == "HEALTHY" ? true : nil }
        // A second agent with the same key supersedes the first, which leaves (77) instead of
        // reconnecting and knocking the second off in turn.
        let twin = try fleet.agent("charlie", key: key)
        #expect(try await charlie.waitForExit() == 77)
        #expect(charlie.output.contains("superseded"))
        _ = try await waitFor("the twin to hold the registration") { try await fleet.api.state(of: "charlie") == "HEALTHY" ? true : nil }

        let id = String(key.dropFirst(3).prefix(12))
        let (status, output) = try run(fleet.vigil, ["keys", "revoke", id, "--data-dir", fleet.directory.appendingPathComponent("data").path])
        #expect(status == 0)
        #expect(output.contains("revoked key \(id)"))
        twin.signal(SIGKILL)
        let again = try fleet.agent("charlie", key: key)
        #expect(try await again.waitForExit() == 77)
        #expect(again.output.contains("revoked_key"))

        let (listStatus, list) = try run(fleet.vigil, ["keys", "list", "--data-dir", fleet.directory.appendingPathComponent("data").path])
        #expect(listStatus == 0)
        #expect(list.contains(id) && list.contains("revoked"))
        #expect(!list.contains(key), "keys list never shows a secret")
    }

    @Test("vigil status prints the table and exits with the Nagios code")
    func status() async throws {
        var fleet = try await Fleet.start()
        defer { fleet.stop() }
        let delta = try fleet.agent("delta", key: try fleet.key(for: "delta"))
        _ = try await waitFor("delta HEALTHY") { try await fleet.api.state(of: "delta") == "HEALTHY" ? true : nil }
        let url = "http://127.0.0.1:\(fleet.api.port)"
        let password = ["VIGIL_PASSWORD": E2EAuth.adminPassword]
        let (ok, table) = try run(fleet.vigil, ["status", "--server", url, "--user", E2EAuth.adminName], environment: password)
        #expect(ok == 0)
        #expect(table.contains("delta") && table.contains("HEALTHY"))
        // An access token works as well (--token or VIGIL_TOKEN).
        let token = try await E2EAuth.accessToken(port: fleet.api.port)
        #expect(try run(fleet.vigil, ["status", "--server", url], environment: ["VIGIL_TOKEN": token]).0 == 0)
        delta.signal(SIGKILL)
        _ = try await waitFor("delta DOWN") { try await fleet.api.state(of: "delta") == "DOWN" ? true : nil }
        #expect(try run(fleet.vigil, ["status", "--server", url, "--user", E2EAuth.adminName], environment: password).0 == 2)
        #expect(try run(fleet.vigil, ["status", "--server", "http://127.0.0.1:1", "--user", E2EAuth.adminName], environment: password).0 == 3)
        // No credentials, or wrong ones: the server cannot be asked.
        #expect(try run(fleet.vigil, ["status", "--server", url], environment: ["VIGIL_PASSWORD": ""]).0 == 3)
        #expect(try run(fleet.vigil, ["status", "--server", url, "--user", E2EAuth.adminName], environment: ["VIGIL_PASSWORD": "wrong-password"]).0 == 3)
    }
}
