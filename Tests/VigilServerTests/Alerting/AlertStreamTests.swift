import Foundation
import Testing
import VigilServer

/// The live stream's `alerts` topic: alert changes and notification states, as the dashboard gets them.
@Suite struct AlertStreamTests {
    @Test func alertsTopicCarriesAlertChangesAndDeliveries() async throws {
        let hook = RecordingChannel(name: "hook")
        let path = try alertingFile("""
            rules:
              - {name: cpu_hot, series: cpu.percent, aggregate: last, threshold: 90, recovery: 50}
            channels:
              - {name: hook, type: webhook, url: "http://127.0.0.1:1/"}
            routes:
              - {channels: [hook], group_wait: 50ms}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await TestServer.with(channels: RecordingChannels(channels: [hook]), {
            StreamFixtures.configure(&$0)
            $0.alerting.file = path
            $0.alerting.defaultRules = false
            $0.metricsRateBurst = 1000
        }) { server in
            let token = try await StreamFixtures.signIn(port: server.httpPort)
            let client = StreamClient.connect(port: server.httpPort)
            _ = try await client.authenticate(token)
            let subscribed = try await client.subscribe(["alerts"])
            #expect((subscribed.json["topics"] as? [String])?.contains("alerts") == true)
            try server.sample("web-1", cpu: 99, sequence: 1)
            let firing = try await client.next(type: "alert")
            let alert = try #require(firing.json["alert"] as? [String: Any])
            #expect(alert["rule"] as? String == "cpu_hot" && alert["status"] as? String == "firing" && alert["hostname"] as? String == "web-1")
            let queued = try await client.next(type: "notification")
            #expect((queued.json["notification"] as? [String: Any])?["channel"] as? String == "hook")
            let delivered = try await client.next(type: "notification")
            #expect((delivered.json["notification"] as? [String: Any])?["state"] as? String == "delivered")
            try server.sample("web-1", cpu: 10, offset: 1, sequence: 2)
            let resolved = try await client.next(type: "alert")
            #expect((resolved.json["alert"] as? [String: Any])?["status"] as? String == "resolved")
            await client.close()
        }
    }
}
