import Foundation
import Testing
import VigilLocalPostgres

/// Several real `vigil server` processes on one real PostgreSQL: membership, one leader, and a
/// new leader after the leader is killed.
@Suite("Cluster end to end", .serialized)
struct ClusterEndToEndTests {
    struct Cluster {
        var status: [String: Any]
        var leader: String? { (self.status["leader"] as? [String: Any])?["member_id"] as? String }
        var epoch: Int? { (self.status["leader"] as? [String: Any])?["epoch"] as? Int }
        var members: [String] { (self.status["members"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String } }
        var leading: Bool { self.status["leading"] as? Bool ?? false }
    }

    /// Starts a real PostgreSQL and `count` servers on it (member-0, member-1, …), runs `body`, and
    /// stops everything whether it passed or not. `environment` adds settings per server, given
    /// its index and the servers started before it. (Other cluster suites use it too.)
    func withCluster(_ count: Int, environment: (Int, [ToolServer]) -> [String: String] = { _, _ in [:] },
                             _ body: (LocalPostgres, inout [ToolServer]) async throws -> Void) async throws {
        let postgres = try await LocalPostgres.start()
        var servers: [ToolServer] = []
        do {
            try await postgres.createDatabase("vigil")
            for index in 0..<count {
                servers.append(try await ToolServer.start(environment: [
                    "VIGIL_STORE_BACKEND": "postgres",
                    "VIGIL_STORE_POSTGRES_URL": postgres.url(database: "vigil") + "?sslmode=disable",
                    "VIGIL_CLUSTER_MEMBER_ID": "member-\(index)",
                ].merging(environment(index, servers)) { $1 }))
            }
            try await body(postgres, &servers)
        } catch {
            for server in servers { server.stop() }
            await postgres.stop()
            throw error
        }
        for server in servers { server.stop() }
        await postgres.stop()
    }

    func cluster(_ server: ToolServer) async throws -> Cluster {
        Cluster(status: try await server.api.get("/api/cluster") as? [String: Any] ?? [:])
    }

    @Test("three servers on one database: all members seen, one leader; kill -9 the leader and another leads at the next epoch, the dead one gone",
          .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func leaderFailover() async throws {
        try await self.withCluster(3) { _, servers in
            let ids = ["member-0", "member-1", "member-2"]
            let first = try await waitFor("three members and a leader", timeout: .seconds(20)) { () -> Cluster? in
                let view = try await self.cluster(servers[0])
                return view.members == ids && view.leader != nil ? view : nil
            }
            let leaderID = try #require(first.leader)
            let epoch = try #require(first.epoch)
            let leaderIndex = try #require(ids.firstIndex(of: leaderID))
            // Exactly one server says it leads.
            var leadingCount = 0
            for server in servers where try await self.cluster(server).leading { leadingCount += 1 }
            #expect(leadingCount == 1)

            // The dashboard's Servers panel, in real headless Chromium, shows the three and the leader.
            if let browser = try BrowserTools.find() {
                let screenshots = BrowserTools.outputDirectory.appendingPathComponent("cluster")
                try? FileManager.default.createDirectory(at: screenshots, withIntermediateDirectories: true)
                let driver = try Child(browser.python, [
                    browser.script, "cluster", "--url", "https://localhost:\(servers[1].httpPort)",
                    "--members", ids.joined(separator: ","), "--screenshots", screenshots.path,
                ], name: "browser-cluster", directory: servers[1].directory, environment: [
                    "VIGIL_ADMIN_PASSWORD": E2EAuth.adminPassword,
                    "VIGIL_TRUSTED_SPKI": try spkiHash(ofCertificateIn: servers[1].caFile),
                ])
                defer { driver.stop() }
                let status = try await driver.waitForExit(timeout: .seconds(120))
                #expect(status == 0, "the cluster panel check failed:\n\(driver.output)")
                #expect(driver.output.contains("\"leader\": \"\(leaderID)\""), "\(driver.output)")
            }

            let killedAt = ContinuousClock.now
            servers[leaderIndex].server.stop()  // SIGKILL
            let survivor = servers[(leaderIndex + 1) % 3]
            let after = try await waitFor("a new leader", timeout: .seconds(15)) { () -> Cluster? in
                let view = try await self.cluster(survivor)
                return view.leader != nil && view.leader != leaderID ? view : nil
            }
            let failover = ContinuousClock.now - killedAt
            print("cluster e2e: new leader \(after.leader ?? "?") at epoch \(after.epoch ?? -1) after \(failover)")
            #expect(after.epoch == epoch + 1)
            // The dead member drops out once silent for the member timeout (3 s).
            let remaining = try await waitFor("the dead member gone", timeout: .seconds(15)) { () -> Cluster? in
                let view = try await self.cluster(survivor)
                return view.members.contains(leaderID) ? nil : view
            }
            #expect(remaining.members == ids.filter { $0 != leaderID })

            // vigil cluster status: the table names the members and the leader; exit 0 with a leader.
            let (status, output) = try runCapturingSync(survivor.vigil, ["cluster", "status", "--server", "http://127.0.0.1:\(survivor.httpPort)", "--user", E2EAuth.adminName],
                                                        environment: ["VIGIL_PASSWORD": E2EAuth.adminPassword])
            #expect(status == 0, "vigil cluster status: \(output)")
            #expect(output.contains("leader \(after.leader ?? "?") at epoch \(epoch + 1)"), "\(output)")
            #expect(output.contains("2 members (postgres)"), "\(output)")
        }
    }

    @Test("a message to a client connected to another server is delivered there, once and in order; a broadcast reaches both servers' clients",
          .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func crossServerMessages() async throws {
        try await self.withCluster(2) { _, servers in
            let alice = try ChatProcess(servers[0], name: "alice")
            defer { alice.stop() }
            try await alice.waitFor("connected to \(servers[0].address) as alice")
            let carol = try ChatProcess(servers[1], name: "carol")
            defer { carol.stop() }
            try await carol.waitFor("connected to \(servers[1].address) as carol")

            // bob sends through server 1 to alice on server 0, then a broadcast.
            for number in 1...5 {
                let sent = try await servers[1].vigil(["send", "--name", "bob", "--to", "alice", "note \(number) of 5"])
                #expect(sent.status == 0, "vigil send: \(sent.output)")
            }
            try await alice.waitFor("bob → you: note 5 of 5", timeout: .seconds(20))
            let notes = alice.lines.filter { $0.contains("bob → you: note") }
            #expect(notes.map { $0.components(separatedBy: "bob → you: ").last ?? "" } == (1...5).map { "note \($0) of 5" })

            // alice (server 0) broadcasts: carol on server 1 gets it once.
            alice.type("send hello from server zero")
            try await carol.waitFor("alice: hello from server zero", timeout: .seconds(20))
            try await alice.waitFor("✓ to everyone: hello from server zero")
            #expect(carol.lines.filter { $0.contains("alice: hello from server zero") }.count == 1)
        }
    }


    @Test("agents configured with one server learn the others from the register reply and, when it is killed, register with another at once; none goes DOWN",
          .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func agentFailover() async throws {
        // The second server presents the first one's CA and certificate: agents pin one CA.
        try await self.withCluster(2, environment: { index, started in
            guard index == 1 else { return [:] }
            let tls = started[0].dataDirectory.appendingPathComponent("tls")
            return [
                "VIGIL_TLS_CA": tls.appendingPathComponent("ca.pem").path,
                "VIGIL_TLS_CERTIFICATE": tls.appendingPathComponent("server.pem").path,
                "VIGIL_TLS_PRIVATE_KEY": tls.appendingPathComponent("server-key.pem").path,
            ]
        }) { _, servers in
            var agents: [Child] = []
            defer { for agent in agents { agent.stop() } }
            _ = try await waitFor("two members", timeout: .seconds(20)) { () -> Bool? in
                try await self.cluster(servers[0]).members.count == 2 ? true : nil
            }
            for index in 0..<6 {
                agents.append(try Child(try Binaries.path("vigil-agent"), [
                    "--server", servers[0].address, "--ca", servers[0].caFile, "--hostname", "failover-\(index)",
                    "--metrics-interval", "1", "--log-level", "info",
                ], name: "agent-failover-\(index)", directory: servers[0].directory))
            }
            _ = try await waitFor("every agent registered with member-0", timeout: .seconds(30)) { () -> Bool? in
                agents.allSatisfy { $0.output.components(separatedBy: "registered").count - 1 >= 1 } ? true : nil
            }
            let killedAt = ContinuousClock.now
            servers[0].server.stop()  // SIGKILL; its files stay for the second server's TLS
            _ = try await waitFor("every agent registered again, with member-1", timeout: .seconds(30)) { () -> Bool? in
                agents.allSatisfy { $0.output.components(separatedBy: "registered").count - 1 >= 2 } ? true : nil
            }
            print("cluster e2e: 6 agents registered elsewhere \(ContinuousClock.now - killedAt) after the kill")
            let view = try await waitFor("member-1 holding six agents", timeout: .seconds(10)) { () -> Cluster? in
                let view = try await self.cluster(servers[1])
                return (view.status["members"] as? [[String: Any]])?.first { $0["id"] as? String == "member-1" }?["load"] as? Int == 6 ? view : nil
            }
            #expect(view.leading)
            // The new leader's sweep runs every second: a few seconds on, still nobody DOWN.
            try await Task.sleep(for: .seconds(3))
            let events = try await servers[1].api.events()
            #expect(events.filter { $0.to == "DOWN" }.isEmpty, "\(events.filter { $0.to == "DOWN" }.map(\.hostname))")
        }
    }
}
