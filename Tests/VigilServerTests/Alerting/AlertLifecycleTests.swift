import Foundation
import Testing
import VigilAlerting
import VigilServer
import VigilStore

/// The alert lifecycle through a real server: evaluation on ingest, storage, the API, grouping,
/// repeats, acknowledgement, resolution, and what reaches a channel.
@Suite struct AlertLifecycleTests {
    static let file = """
        rules:
          - name: cpu_hot
            series: cpu.percent
            aggregate: last
            op: ">"
            threshold: 90
            recovery: 50
            for: 2s
            severity: critical
            summary: "CPU on {{host}} at {{value}}%"
        channels:
          - name: hook
            type: webhook
            url: http://127.0.0.1:1/unused
        routes:
          - channels: [hook]
            group_wait: 100ms
            repeat_interval: 1s
        """

    @Test func firesOnceWithTopProcessesRepeatsUntilAcknowledgedAndResolvesOnce() async throws {
        let hook = RecordingChannel(name: "hook")
        let path = try alertingFile(Self.file)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await TestServer.with(channels: RecordingChannels(channels: [hook]), { settings in
            settings.alerting.file = path
            settings.alerting.defaultRules = false
            settings.alerting.tick = .milliseconds(100)
            settings.metricsRateBurst = 1000
        }) { server in
            /// What the channel got about one host (a second host, never acknowledged, is the clock
            /// that proves repeat intervals passed).
            func notices(_ host: String, _ reason: AlertNotification.Reason? = nil) -> [AlertNotification] {
                hook.delivered.filter { $0.groupKey == host && (reason == nil || $0.reason == reason) }
            }
            func status(of host: String) async throws -> String? {
                try await server.activeAlerts().first { $0["hostname"] as? String == host }?["status"] as? String
            }
            try server.sample("web-1", cpu: 95, offset: 0, sequence: 1)
            try await eventually(timeout: .seconds(5), "a pending alert") { try await status(of: "web-1") == "pending" }
            #expect(hook.delivered.isEmpty)  // pending is not announced
            try server.sample("web-1", cpu: 96, offset: 2.5, sequence: 2)
            try await eventually(timeout: .seconds(5), "the firing notification") { !notices("web-1").isEmpty }
            let first = try #require(notices("web-1").first)
            #expect(first.reason == .firing)
            #expect(first.alerts.count == 1)
            let alert = try #require(first.alerts.first)
            #expect(alert.rule == "cpu_hot" && alert.hostname == "web-1" && alert.status == .firing && alert.value == 96)
            #expect(alert.summary == "CPU on web-1 at 96%")
            #expect(alert.topProcesses.map(\.name) == ["burner", "postgres"])
            #expect(alert.labels["alertname"] == "cpu_hot" && alert.labels["severity"] == "critical")

            // Unacknowledged: repeated after repeat_interval.
            try await eventually(timeout: .seconds(5), "a repeat") { !notices("web-1", .repeated).isEmpty }
            // The clock: another host's alert that nobody acknowledges repeats every interval.
            try server.sample("clock-1", cpu: 99, offset: 0, sequence: 1)
            try server.sample("clock-1", cpu: 99, offset: 2.5, sequence: 2)
            try await eventually(timeout: .seconds(5), "the clock alert firing") { !notices("clock-1", .firing).isEmpty }

            // An operator acknowledges; a viewer may not.
            let viewer = try await server.user("vera", role: .viewer)
            let operatorToken = try await server.user("otto", role: .operator)
            let body = try JSONSerialization.data(withJSONObject: ["comment": "looking"])
            #expect(try await server.http("POST", "/api/alerts/\(alert.alertID)/ack", headers: ["Content-Type": "application/json"], body: body, as: .token(viewer)).status == 403)
            let ack = try await server.http("POST", "/api/alerts/\(alert.alertID)/ack", headers: ["Content-Type": "application/json"], body: body, as: .token(operatorToken))
            #expect(ack.status == 200)
            #expect((ack.json as? [String: Any])?["acknowledged_by"] as? String == "otto")
            let afterAck = notices("web-1").count
            // Three repeat intervals pass (the clock repeats three times) with no repeat of web-1.
            let clock = notices("clock-1", .repeated).count
            try await eventually(timeout: .seconds(10), "three repeats of the clock") { notices("clock-1", .repeated).count >= clock + 3 }
            #expect(notices("web-1").count == afterAck)

            // Below the threshold but above recovery: still firing (hysteresis), a repeat interval later. Below recovery: resolved, once.
            try server.sample("web-1", cpu: 70, offset: 3, sequence: 3)
            let clockAt70 = notices("clock-1", .repeated).count
            try await eventually(timeout: .seconds(5), "a repeat of the clock") { notices("clock-1", .repeated).count > clockAt70 }
            #expect(try await status(of: "web-1") == "firing")
            try server.sample("web-1", cpu: 10, offset: 4, sequence: 4)
            try await eventually(timeout: .seconds(5), "the resolved notification") { !notices("web-1", .resolved).isEmpty }
            #expect(notices("web-1", .resolved).count == 1)
            #expect(notices("web-1", .firing).count == 1)
            #expect(try await status(of: "web-1") == nil)
            let history = try await server.http("GET", "/api/alerts/history?host=web-1")
            let rows = ((history.json as? [String: Any])?["alerts"] as? [[String: Any]]) ?? []
            #expect(rows.first?["status"] as? String == "resolved")
            #expect(rows.first?["acknowledged_by"] as? String == "otto")
            #expect(rows.first?["resolved_at"] != nil && rows.first?["fired_at"] != nil)
            let log = try await server.http("GET", "/api/notifications?channel=hook")
            let entries = ((log.json as? [String: Any])?["notifications"] as? [[String: Any]]) ?? []
            #expect(entries.count == hook.delivered.count)
            #expect(entries.allSatisfy { $0["state"] as? String == "delivered" })
        }
    }

    @Test func hostDownNotifiesAtOnceAndSuppressesTheHostsMetricAlerts() async throws {
        let hook = RecordingChannel(name: "hook")
        let path = try alertingFile(Self.file.replacingOccurrences(of: "for: 2s", with: "for: 0s"))
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await TestServer.with(channels: RecordingChannels(channels: [hook]), { settings in
            settings.alerting.file = path
            settings.alerting.tick = .milliseconds(100)
            settings.metricsRateBurst = 1000
        }) { server in
            let evaluation = server.server.alerts.evaluation
            evaluation.observe(LivenessEvent(hostname: "db-1", from: nil, to: .connected, reason: "registered", at: Date()))
            try server.sample("db-1", cpu: 99, sequence: 1)
            try await eventually(timeout: .seconds(5), "the CPU notification") { hook.delivered.count == 1 }
            let down = Date()
            evaluation.observe(LivenessEvent(hostname: "db-1", from: .healthy, to: .down, reason: "no heartbeat for 3.1 s", at: down))
            try await eventually(timeout: .seconds(5), "the host_down notification") { hook.delivered.contains { $0.alerts.contains { $0.rule == "host_down" } } }
            let notice = try #require(hook.delivered.first { $0.alerts.contains { $0.rule == "host_down" } })
            #expect(notice.alerts.first?.summary.contains("no heartbeat for 3.1 s") == true)
            #expect(notice.alerts.first?.severity == .critical)
            // The CPU alert still fires but is not repeated while its host is DOWN; host_down itself
            // is, and its repeats are the clock (two of them: two repeat intervals).
            func cpuNotices() -> Int { hook.delivered.filter { $0.alerts.contains { $0.rule == "cpu_hot" } }.count }
            func downRepeats() -> Int { hook.delivered.filter { $0.reason == .repeated && $0.alerts.contains { $0.rule == "host_down" } }.count }
            let count = cpuNotices()
            try await eventually(timeout: .seconds(10), "two repeats of host_down") { downRepeats() >= 2 }
            #expect(cpuNotices() == count)
            let views = try await server.activeAlerts()
            #expect(views.first { $0["rule"] as? String == "cpu_hot" }?["suppressed"] as? Bool == true)
        }
    }

    @Test func silenceHoldsNotificationsUntilItIsEnded() async throws {
        let hook = RecordingChannel(name: "hook")
        let path = try alertingFile(Self.file.replacingOccurrences(of: "for: 2s", with: "for: 0s"))
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await TestServer.with(channels: RecordingChannels(channels: [hook]), { settings in
            settings.alerting.file = path
            settings.alerting.defaultRules = false
            settings.alerting.tick = .milliseconds(100)
            settings.metricsRateBurst = 1000
        }) { server in
            let operatorToken = try await server.user("otto", role: .operator)
            let body = try JSONSerialization.data(withJSONObject: ["matchers": ["host=web-9", "alertname=~cpu.*"], "duration": "1h", "comment": "maintenance"])
            let created = try await server.http("POST", "/api/silences", headers: ["Content-Type": "application/json"], body: body, as: .token(operatorToken))
            #expect(created.status == 201)
            let id = try #require((created.json as? [String: Any])?["id"] as? String)
            try server.sample("web-9", cpu: 99, sequence: 1)
            try await eventually(timeout: .seconds(5), "the alert to fire") { try await server.activeAlerts().first?["status"] as? String == "firing" }
            #expect(try await server.activeAlerts().first?["silenced"] as? Bool == true)
            // The clock: the same rule on a host no silence holds is notified, then repeated.
            try server.sample("web-8", cpu: 99, sequence: 1)
            try await eventually(timeout: .seconds(5), "the unsilenced host's repeat") { hook.delivered.contains { $0.groupKey == "web-8" && $0.reason == .repeated } }
            #expect(!hook.delivered.contains { $0.groupKey == "web-9" })
            #expect(try await server.http("DELETE", "/api/silences/\(id)", as: .token(operatorToken)).status == 200)
            try await eventually(timeout: .seconds(5), "the notification once the silence ended") { hook.delivered.contains { $0.groupKey == "web-9" } }
            #expect(hook.delivered.first { $0.groupKey == "web-9" }?.reason == .firing)
        }
    }
}
