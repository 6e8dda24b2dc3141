import Foundation
import Testing
import VigilLocalPostgres

/// Notifications in a cluster: the outbox is shared, every member queues what its alerts owe, and
/// only the leader delivers, so a member that starts while a notification is still open does not
/// send it a second time.
extension ClusterEndToEndTests {
    @Test("a host_down raised on a follower reaches the webhook once, delivered by the leader; a member started while it is still open does not send it again",
          .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func notificationsOnceFromTheLeader() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-cluster-alerts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let receivers = try await AlertReceivers.start(in: directory, alertmanager: false, smtp: false)
        defer { receivers.stop() }
        let file = directory.appendingPathComponent("alerting.yaml")
        try """
            channels:
              - {name: hook, type: webhook, url: "http://127.0.0.1:\(receivers.webhookPort)/hook", timeout: 2s}
            routes:
              - {channels: [hook], group_wait: 100ms, repeat_interval: 1h}
            """.write(to: file, atomically: true, encoding: .utf8)
        let alerting = ["VIGIL_ALERTING_FILE": file.path, "VIGIL_ALERTING_TICK": "200ms", "VIGIL_ALERTING_RETRY_INITIAL": "200ms", "VIGIL_HEARTBEAT_INTERVAL": "1s"]
        try await self.withCluster(2, environment: Self.sharedTLS(alerting)) { postgres, servers in
            let view = try await waitFor("two members and a leader", timeout: .seconds(20)) { () -> Cluster? in
                let view = try await self.cluster(servers[0])
                return view.members.count == 2 && view.leader != nil ? view : nil
            }
            let follower = servers[view.leader == "member-0" ? 1 : 0]
            let host = "paged-\(UUID().uuidString.prefix(6).lowercased())"
            let agent = try self.agent(host, of: follower, ca: servers[0].caFile)
            defer { agent.stop() }
            _ = try await waitFor("the agent registered", timeout: .seconds(20)) { agent.output.contains("registered") ? true : nil }

            // The receiver refuses for now: the notification stays open in the shared outbox.
            try receivers.setWebhookMode("fail")
            agent.signal(SIGKILL)
            _ = try await waitFor("host_down queued", timeout: .seconds(30)) { () -> Bool? in
                let open = try await follower.api.get("/api/notifications?state=retrying") as? [String: Any]
                return ((open?["notifications"] as? [Any]) ?? []).isEmpty ? nil : true
            }
            // A member that starts now finds it open.
            let tls = servers[0].dataDirectory.appendingPathComponent("tls")
            servers.append(try await ToolServer.start(environment: alerting.merging([
                "VIGIL_STORE_BACKEND": "postgres",
                "VIGIL_STORE_POSTGRES_URL": postgres.url(database: "vigil") + "?sslmode=disable",
                "VIGIL_CLUSTER_MEMBER_ID": "member-late",
                "VIGIL_TLS_CA": tls.appendingPathComponent("ca.pem").path,
                "VIGIL_TLS_CERTIFICATE": tls.appendingPathComponent("server.pem").path,
                "VIGIL_TLS_PRIVATE_KEY": tls.appendingPathComponent("server-key.pem").path,
            ]) { $1 }))
            _ = try await waitFor("three members", timeout: .seconds(20)) { () -> Bool? in
                try await self.cluster(servers[0]).members.count == 3 ? true : nil
            }
            try receivers.setWebhookMode("ok")
            let deliveries = { () -> Int in
                receivers.webhookRequests.filter { request in
                    ((request["body"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []).contains { $0["rule"] as? String == "host_down" && $0["hostname"] as? String == host }
                }.count
            }
            _ = try await waitFor("host_down at the webhook", timeout: .seconds(30)) { deliveries() >= 1 ? true : nil }
            try await Task.sleep(for: .seconds(3))  // every member's retries and its start-up's have come due by now
            #expect(deliveries() == 1, "host_down delivered \(deliveries()) times")
        }
    }
}
