import Foundation
import Testing
import VigilLocalPostgres

/// Load sharing between real servers: a member at `cluster.capacity` redirects new agents, and a
/// member holding more than its share sheds agents to the others, without a host going DOWN.
extension ClusterEndToEndTests {
    /// Member 1 presents member 0's CA and certificate, so agents that pin one CA reach both.
    static func sharedTLS(_ extra: [String: String] = [:]) -> (Int, [ToolServer]) -> [String: String] {
        { index, started in
            guard index > 0 else { return extra }
            let tls = started[0].dataDirectory.appendingPathComponent("tls")
            return extra.merging([
                "VIGIL_TLS_CA": tls.appendingPathComponent("ca.pem").path,
                "VIGIL_TLS_CERTIFICATE": tls.appendingPathComponent("server.pem").path,
                "VIGIL_TLS_PRIVATE_KEY": tls.appendingPathComponent("server-key.pem").path,
            ]) { $1 }
        }
    }

    /// An agent of `server`; `ca` is the CA every member presents (member 0's, with ``sharedTLS(_:)``).
    func agent(_ name: String, of server: ToolServer, ca: String? = nil) throws -> Child {
        try Child(try Binaries.path("vigil-agent"), [
            "--server", server.address, "--ca", ca ?? server.caFile, "--hostname", name, "--metrics-interval", "1", "--log-level", "info",
        ], name: "agent-\(name)", directory: server.directory)
    }

    func loads(_ server: ToolServer) async throws -> [String: Int] {
        let members = try await self.cluster(server).status["members"] as? [[String: Any]] ?? []
        return Dictionary(members.compactMap { member in (member["id"] as? String).map { ($0, member["load"] as? Int ?? -1) } }) { $1 }
    }

    @Test("a member at its capacity redirects a new agent to the member with room, and the agent registers there",
          .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func redirectAtCapacity() async throws {
        try await self.withCluster(2, environment: Self.sharedTLS(["VIGIL_CLUSTER_CAPACITY": "2", "VIGIL_CLUSTER_SHED_RATE": "0"])) { _, servers in
            var agents: [Child] = []
            defer { for agent in agents { agent.stop() } }
            _ = try await waitFor("two members", timeout: .seconds(20)) { () -> Bool? in
                try await self.cluster(servers[0]).members.count == 2 ? true : nil
            }
            for index in 0..<3 {
                let agent = try self.agent("capacity-\(index)", of: servers[0])
                agents.append(agent)
                _ = try await waitFor("agent \(index) registered", timeout: .seconds(20)) { () -> Bool? in
                    agent.output.contains("registered") ? true : nil
                }
            }
            #expect(!agents[0].output.contains("redirected"))
            #expect(!agents[1].output.contains("redirected"))
            #expect(agents[2].output.contains("redirected"), "\(agents[2].output)")
            let loads = try await waitFor("loads 2 and 1", timeout: .seconds(10)) { () -> [String: Int]? in
                let loads = try await self.loads(servers[0])
                return loads == ["member-0": 2, "member-1": 1] ? loads : nil
            }
            #expect(loads["member-1"] == 1)
        }
    }

    @Test("a member holding every agent sheds half of them to the empty member, a step at a time; no host goes DOWN or SUSPECT",
          .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func sheddingBalancesLoads() async throws {
        try await self.withCluster(2, environment: Self.sharedTLS(["VIGIL_CLUSTER_SHED_RATE": "2"])) { _, servers in
            var agents: [Child] = []
            defer { for agent in agents { agent.stop() } }
            _ = try await waitFor("two members", timeout: .seconds(20)) { () -> Bool? in
                try await self.cluster(servers[0]).members.count == 2 ? true : nil
            }
            // Member 1 is told to shed nothing until every agent is on member 0: they all name it.
            for index in 0..<8 {
                agents.append(try self.agent("shed-\(index)", of: servers[0]))
            }
            _ = try await waitFor("loads within 10 %: 4 and 4", timeout: .seconds(40)) { () -> Bool? in
                try await self.loads(servers[1]) == ["member-0": 4, "member-1": 4] ? true : nil
            }
            let moved = agents.filter { $0.output.contains("redirected") }
            #expect(moved.count >= 4)
            // Two members' liveness views: nobody left for DOWN, nobody even SUSPECT.
            let events = try await servers[0].api.events() + servers[1].api.events()
            #expect(events.filter { $0.to == "DOWN" || $0.to == "SUSPECT" }.isEmpty, "\(events.filter { $0.to == "DOWN" || $0.to == "SUSPECT" }.map { "\($0.hostname) \($0.to)" })")
            // Still balanced a few heartbeats on: the shedding stopped.
            try await Task.sleep(for: .seconds(3))
            #expect(try await self.loads(servers[1]) == ["member-0": 4, "member-1": 4])
        }
    }
}
