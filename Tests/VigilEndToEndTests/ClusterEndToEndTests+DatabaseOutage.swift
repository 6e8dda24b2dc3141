import Foundation
import Testing
import VigilLocalPostgres

/// PostgreSQL itself down (OPERATIONS.md §15.2): the server keeps its agents connected, says so on
/// `/api/health`, and once the database is back nothing the agents sampled meanwhile is missing.
extension ClusterEndToEndTests {
    @Test("PostgreSQL stopped for a while: the agent stays connected, /api/health says degraded, and afterwards the host's raw history has every second, none twice",
          .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func databaseOutage() async throws {
        try await self.withCluster(1) { postgres, servers in
            let server = servers[0]
            // One API value, signed in before the outage: signing in writes a session to the database.
            let api = server.api
            let agent = try Child(try Binaries.path("vigil-agent"), [
                "--server", server.address, "--ca", server.caFile, "--hostname", "outage", "--metrics-interval", "1", "--log-level", "info",
            ], name: "agent-outage", directory: server.directory, environment: ["VIGIL_SPOOL_DIR": server.directory.appendingPathComponent("outage-spool").path])
            defer { agent.stop() }
            let first = try await waitFor("3 live samples", timeout: .seconds(20)) { () -> Double? in
                let times = try await SpoolEndToEndTests.rawTimes(api, "outage", from: Date().timeIntervalSince1970 - 300, to: Date().timeIntervalSince1970 + 5)
                return times.count >= 3 ? times[0] : nil
            }

            await postgres.pause()
            let stoppedAt = Date()
            let health = try await waitFor("/api/health degraded", timeout: .seconds(15)) { () -> [String: Any]? in
                let health = try await api.get("/api/health") as? [String: Any]
                return health?["status"] as? String == "degraded" ? health : nil
            }
            let database = health["database"] as? [String: Any]
            #expect(database?["backend"] as? String == "postgres")
            #expect(database?["state"] as? String == "unreachable")
            #expect(database?["detail"] is String)
            let during = try await api.get("/api/agents/outage") as? [String: Any]
            #expect(during?["connected"] as? Bool == true, "the agent stays connected while the database is down: \(String(describing: during))")
            try await Task.sleep(for: .seconds(4))  // the outage itself: nothing to wait for
            try await postgres.resume()
            let resumedAt = Date()

            _ = try await waitFor("/api/health ok again", timeout: .seconds(30)) { () -> Bool? in
                let health = try await api.get("/api/health") as? [String: Any]
                return health?["status"] as? String == "ok" ? true : nil
            }
            let times = try await waitFor("the outage's samples stored", timeout: .seconds(40)) { () -> [Double]? in
                let times = try await SpoolEndToEndTests.rawTimes(api, "outage", from: first - 0.5, to: Date().timeIntervalSince1970 + 5)
                guard let last = times.last, last >= resumedAt.timeIntervalSince1970 + 2,
                      SpoolEndToEndTests.gaps(times).count <= SpoolEndToEndTests.skippedTicks(agent) else { return nil }
                return times
            }
            #expect(Set(times).count == times.count, "no sample stored twice")
            let outageSeconds = resumedAt.timeIntervalSince(stoppedAt)
            let covered = times.filter { $0 > stoppedAt.timeIntervalSince1970 && $0 < resumedAt.timeIntervalSince1970 }
            #expect(Double(covered.count) >= outageSeconds - 2 - Double(SpoolEndToEndTests.skippedTicks(agent)), "\(covered.count) samples in \(outageSeconds) s")
            #expect(!agent.output.contains("session ended"), "the agent kept its connection: \(agent.output.suffix(800))")
            let events = try await api.events()
            #expect(!events.contains { $0.hostname == "outage" && ($0.to == "DOWN" || $0.to == "SUSPECT") })
            print("database outage e2e: \(covered.count) samples taken during \(outageSeconds) s without PostgreSQL, all stored after it returned")
        }
    }
}
