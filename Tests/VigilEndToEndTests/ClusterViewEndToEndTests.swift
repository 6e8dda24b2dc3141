import Foundation
import Testing
import VigilLocalPostgres

/// Every member of a cluster shows the whole fleet, live: a host connected to one server is
/// listed, sampled and streamed by another, whose failure detector never judges it.
@Suite("Cluster live view end to end", .serialized)
struct ClusterViewEndToEndTests {
    @Test("an agent on server A: server B lists it with A as its member and its current sample, streams its samples and its DOWN (raised once, by A) when it is killed",
          .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func wholeFleetOnEveryMember() async throws {
        // A short reconnect grace: the killed agent is DOWN a second after A sees its connection go.
        try await ClusterEndToEndTests().withCluster(2, environment: { _, _ in ["VIGIL_LIVENESS_RECONNECT_GRACE": "1s"] }) { _, servers in
            let (a, b) = (servers[0], servers[1])
            let host = "cluster-view-1"
            _ = try await waitFor("two members", timeout: .seconds(20)) { () -> Bool? in
                let members = (try await b.api.get("/api/cluster") as? [String: Any])?["members"] as? [[String: Any]] ?? []
                return members.count == 2 ? true : nil
            }
            let stream = StreamProcessClient(port: b.httpPort)
            defer { stream.close() }
            try await stream.start(token: try await b.api.accessToken(), topics: ["host:\(host)", "events"])

            let agent = try Child(try Binaries.path("vigil-agent"), [
                "--server", a.address, "--ca", a.caFile, "--hostname", host, "--metrics-interval", "1", "--log-level", "info",
            ], name: "agent-cluster-view", directory: a.directory)
            defer { agent.stop() }

            // B's stream carries A's samples of the host, and its registration (A's transition).
            let sample = try await stream.waitFor("a sample of \(host) on B's stream") {
                $0["type"] as? String == "sample" && $0["hostname"] as? String == host
            }
            #expect((sample["metrics"] as? [String: Any])?["cpu"] != nil)
            _ = try await stream.waitFor("the host's registration on B's stream") { message in
                guard message["type"] as? String == "event", let event = message["event"] as? [String: Any] else { return false }
                return event["hostname"] as? String == host && event["to"] as? String == "CONNECTED"
            }

            // GET /api/servers on B: the host, held by A, connected, with its current figures.
            let listed = try await waitFor("\(host) in B's /api/servers with A as its member and a sample", timeout: .seconds(20)) { () -> [String: Any]? in
                let hosts = try await b.api.get("/api/servers") as? [[String: Any]] ?? []
                let entry = hosts.first { $0["hostname"] as? String == host }
                return entry?["member"] as? String == "member-0" && entry?["cpu_percent"] is Double && entry?["connected"] as? Bool == true ? entry : nil
            }
            #expect(listed["state"] as? String != nil)
            let current = try await b.api.get("/api/servers/\(host)/current") as? [String: Any]
            #expect(current?["hostname"] as? String == host, "\(String(describing: current))")
            let agents = try await b.api.get("/api/agents") as? [[String: Any]] ?? []
            #expect(agents.first { $0["hostname"] as? String == host }?["member"] as? String == "member-0", "\(agents)")

            // Kill the agent: A sees the connection go and, after the grace, declares it DOWN; B streams both.
            agent.stop()  // SIGKILL
            let down = try await stream.waitFor("the host's DOWN on B's stream", timeout: .seconds(30)) { message in
                guard message["type"] as? String == "event", let event = message["event"] as? [String: Any] else { return false }
                return event["hostname"] as? String == host && event["to"] as? String == "DOWN"
            }
            _ = down
            _ = try await stream.waitFor("the host's state DOWN on B's stream") {
                $0["type"] as? String == "state" && $0["hostname"] as? String == host && $0["state"] as? String == "DOWN" && $0["connected"] as? Bool == false
            }
            // Stored once, by A: the shared event log has one DOWN, A logged it and B did not.
            let events = try await b.api.events().filter { $0.hostname == host }
            #expect(events.filter { $0.to == "DOWN" }.count == 1, "\(events.map(\.to))")
            #expect(a.server.output.contains("host DOWN"), "A did not declare the host DOWN")
            #expect(!b.server.output.contains("host DOWN"), "B declared a host DOWN it does not hold:\n\(b.server.output)")
            // B's listing shows it DOWN, not connected.
            _ = try await waitFor("\(host) DOWN in B's /api/servers") { () -> Bool? in
                let hosts = try await b.api.get("/api/servers") as? [[String: Any]] ?? []
                let entry = hosts.first { $0["hostname"] as? String == host }
                return entry?["state"] as? String == "DOWN" && entry?["connected"] as? Bool == false ? true : nil
            }
        }
    }

    @Test("a member that restarts shows the hosts another member holds at once, read from the store; a broadcast sent through one member is on the other's messages topic, once",
          .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func restartAndMessages() async throws {
        try await ClusterEndToEndTests().withCluster(2) { _, servers in
            let host = "cluster-view-2"
            _ = try await waitFor("two members", timeout: .seconds(20)) { () -> Bool? in
                let members = (try await servers[1].api.get("/api/cluster") as? [String: Any])?["members"] as? [[String: Any]] ?? []
                return members.count == 2 ? true : nil
            }
            let agent = try Child(try Binaries.path("vigil-agent"), [
                "--server", servers[0].address, "--ca", servers[0].caFile, "--hostname", host, "--metrics-interval", "1", "--log-level", "info",
            ], name: "agent-cluster-view-2", directory: servers[0].directory)
            defer { agent.stop() }
            let heldByA = { (server: ToolServer) async throws -> Bool? in
                let hosts = try await server.api.get("/api/servers") as? [[String: Any]] ?? []
                let entry = hosts.first { $0["hostname"] as? String == host }
                return entry?["member"] as? String == "member-0" && entry?["state"] as? String == "HEALTHY" && entry?["connected"] as? Bool == true ? true : nil
            }
            _ = try await waitFor("\(host) held by A in B's listing", timeout: .seconds(20)) { try await heldByA(servers[1]) }

            // B restarts while the agent stays on A: nothing is relayed about the host's liveness
            // now (it does not register again), so B knows its holder and state from the store only.
            let registrations = { agent.output.components(separatedBy: "registered").count }
            let before = registrations()
            try await servers[1].restart()
            _ = try await waitFor("\(host) held by A in the restarted B's listing", timeout: .seconds(20)) { try await heldByA(servers[1]) }
            #expect(registrations() == before, "the agent registered again:\n\(agent.output)")

            let b = servers[1]
            let stream = StreamProcessClient(port: b.httpPort)
            defer { stream.close() }
            try await stream.start(token: try await b.api.accessToken(), topics: ["messages"])
            let sent = try await servers[0].vigil(["send", "--name", "carol", "hello from member zero"])
            #expect(sent.status == 0, "vigil send: \(sent.output)")
            let isIt = { (message: [String: Any]) -> Bool in
                message["type"] as? String == "message" && (message["message"] as? [String: Any])?["content"] as? String == "hello from member zero"
            }
            _ = try await stream.waitFor("the broadcast on B's messages topic", isIt)
            #expect(stream.received.filter(isIt).count == 1)
        }
    }
}
