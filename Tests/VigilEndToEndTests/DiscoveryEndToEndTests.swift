import Foundation
import Testing
import VigilLocalPostgres

/// Issue 15's acceptance for discovery: a seed-style client (envelope only: a UDP
/// `SERVER_DISCOVERY`, then plain TCP with 4-byte length-prefixed JSON and a version-0
/// `CLIENT_REGISTER`) finds a server of a real three-server cluster, and after that server is
/// killed finds another the same way.
@Suite("Discovery end to end", .serialized)
struct DiscoveryEndToEndTests {
    /// What one discovery round brought back.
    private struct Announce {
        var senderID: String
        var host: String
        var port: Int
        var serverID: String

        init?(_ json: [String: Any]) {
            guard json["type"] as? String == "SERVER_ANNOUNCE", let payload = json["payload"] as? [String: Any],
                  let senderID = json["sender_id"] as? String, let host = payload["assigned_host"] as? String,
                  let port = payload["assigned_tcp_port"] as? Int, let serverID = payload["server_id"] as? String,
                  json["timestamp"] is Double || json["timestamp"] is Int, json["message_id"] is String
            else { return nil }
            (self.senderID, self.host, self.port, self.serverID) = (senderID, host, port, serverID)
        }
    }

    /// Registers as an envelope-only client would (version 0: an empty payload, the name in
    /// `sender_id`) and returns the socket and the reply's `success`.
    private func register(_ name: String, port: Int) throws -> (FramedSocket, Bool) {
        let socket = try FramedSocket(port: port)
        let register = #"{"type":"CLIENT_REGISTER","sender_id":"\#(name)","payload":{},"timestamp":\#(Date().timeIntervalSince1970),"message_id":"\#(UUID().uuidString.lowercased())"}"#
        try socket.send(raw: Array(register.utf8))
        while true {
            if case .serverResponse(let response) = try socket.next().body { return (socket, response.success) }
        }
    }

    @Test("a seed-style client finds a server through discovery (one SERVER_ANNOUNCE from the leader, multicast over loopback) and, after its server is killed, through discovery again",
          .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func seedStyleClient() async throws {
        let discoveryPort = try DiscoverySocket.freePort()
        let group = "239.255.255.250"
        try await ClusterEndToEndTests().withCluster(3, environment: { _, _ in [
            "VIGIL_CLUSTER_DISCOVERY": "true",
            "VIGIL_CLUSTER_DISCOVERY_PORT": "\(discoveryPort)",
            "VIGIL_CLUSTER_DISCOVERY_INTERFACE": "127.0.0.1",
            // Announced as 127.0.0.1:<port>; plaintext from loopback, as the original client has no TLS.
            "VIGIL_AGENTS_HOST": "127.0.0.1",
            "VIGIL_AGENTS_PLAINTEXT": "loopback",
        ] }) { _, servers in
            let ids = ["member-0", "member-1", "member-2"]
            // Every member known to the leader, so the first answer is a settled one.
            let leader = try await waitFor("three members and a leader", timeout: .seconds(30)) { () -> String? in
                let status = try await servers[0].api.get("/api/cluster") as? [String: Any] ?? [:]
                let members = (status["members"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                return members == ids ? (status["leader"] as? [String: Any])?["member_id"] as? String : nil
            }
            let client = try DiscoverySocket()
            let answers = try await waitFor("a SERVER_ANNOUNCE", timeout: .seconds(20)) { () -> [[String: Any]]? in
                let answers = try client.discover(name: "seed-alice", group: group, port: discoveryPort)
                return answers.isEmpty ? nil : answers
            }
            #expect(answers.count == 1, "the cluster answers once: \(answers)")
            let first = try #require(Announce(answers[0]), "\(answers[0])")
            #expect(first.senderID == leader)
            #expect(first.host == "127.0.0.1")
            let index = try #require(servers.firstIndex { $0.agentPort == first.port }, "announced port \(first.port) is no member's")
            #expect(first.serverID == ids[index])
            let (socket, registered) = try self.register("seed-alice", port: first.port)
            #expect(registered)
            _ = socket

            let killedAt = ContinuousClock.now
            servers[index].server.stop()  // SIGKILL
            // As the seed-style client does: discover, connect; on failure discover again. Until the
            // dead member's row ages out (cluster.member_timeout) the leader may still name it, and
            // if it led, nobody answers until the next leader is elected.
            var rounds = 0
            let (second, aliceAgain) = try await waitFor("another live server through discovery", timeout: .seconds(30)) { () -> (Announce, FramedSocket)? in
                rounds += 1
                let answers = try client.discover(name: "seed-alice", group: group, port: discoveryPort)
                #expect(answers.count <= 1, "the cluster answers once: \(answers)")
                guard let announce = answers.first.flatMap(Announce.init), announce.port != first.port,
                      let attempt = try? self.register("seed-alice", port: announce.port), attempt.1 else { return nil }
                return (announce, attempt.0)
            }
            print("discovery e2e: \(second.serverID) found through discovery \(ContinuousClock.now - killedAt) after the kill, in \(rounds) rounds")
            #expect(second.serverID != first.serverID)
            #expect(second.host == "127.0.0.1")
            #expect(servers.contains { $0.agentPort == second.port && $0.server.process.isRunning })

            // vigil send --discover: the people's tools find a server the same way; the message
            // reaches the seed-style client wherever it is connected.
            let (status, output) = try runCapturingSync(try Binaries.path("vigil"), [
                "send", "--discover", "--discovery-port", "\(discoveryPort)", "--discovery-interface", "127.0.0.1",
                "--name", "seed-bob", "--to", "seed-alice", "found you through discovery",
            ])
            #expect(status == 0, "vigil send --discover: \(output)")
            var delivered: String?
            for _ in 0..<20 {
                if case .clientMessage(let message) = try aliceAgain.next().body {
                    delivered = message.content
                    break
                }
            }
            #expect(delivered == "found you through discovery")
        }
    }
}
