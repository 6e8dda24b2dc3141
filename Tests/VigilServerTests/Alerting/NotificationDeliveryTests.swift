import Foundation
import Testing
import VigilAlerting
import VigilServer
import VigilStore

/// The outbox and its workers: retries, dead letters, deadlines, restarts, bounds.
@Suite struct NotificationDeliveryTests {
    static func file(channels: [String], groupWait: String = "50ms", rule: String = "cpu.percent") -> String {
        """
        rules:
          - name: cpu_hot
            series: \(rule)
            aggregate: last
            threshold: 90
        channels:
        \(channels.map { "  - {name: \($0), type: webhook, url: http://127.0.0.1:1/}" }.joined(separator: "\n"))
        routes:
          - channels: [\(channels.joined(separator: ", "))]
            group_wait: \(groupWait)
            repeat_interval: 1h
        """
    }

    static func configure(_ path: String) -> @Sendable (inout ServerSettings) -> Void {
        { settings in
            settings.alerting.file = path
            settings.alerting.defaultRules = false
            settings.alerting.tick = .milliseconds(100)
            settings.alerting.deliveryTimeout = .milliseconds(300)
            settings.alerting.retryInitial = .milliseconds(50)
            settings.alerting.retryMax = .milliseconds(200)
            settings.metricsRateBurst = 100_000
            settings.metricsRateLimit = 100_000
        }
    }

    static func entries(_ server: TestServer, channel: String) async throws -> [[String: Any]] {
        ((try await server.http("GET", "/api/notifications?channel=\(channel)").json as? [String: Any])?["notifications"] as? [[String: Any]]) ?? []
    }

    @Test func failingAndHangingChannelsRetryWithoutHoldingTheOthers() async throws {
        let good = RecordingChannel(name: "good")
        let flaky = RecordingChannel(name: "flaky", behaviour: .failFirst(2))
        let hung = RecordingChannel(name: "hung", behaviour: .hang)
        let path = try alertingFile(Self.file(channels: ["good", "flaky", "hung"]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await TestServer.with(channels: RecordingChannels(channels: [good, flaky, hung]), Self.configure(path)) { server in
            try server.sample("web-1", cpu: 99, sequence: 1)
            try await eventually(timeout: .seconds(3), "the good channel's delivery") { good.delivered.count == 1 }
            try await eventually(timeout: .seconds(5), "the flaky channel's third attempt") { flaky.delivered.count == 1 }
            #expect(flaky.attempts == [3])
            // The hung receiver's attempts end at the deadline and are retried.
            try await eventually(timeout: .seconds(5), "retries of the hung channel") { hung.calls >= 2 }
            let log = try await Self.entries(server, channel: "hung")
            #expect(log.first?["state"] as? String == "retrying")
            #expect((log.first?["last_error"] as? String)?.contains("no answer within") == true)
            // Same notification id on every attempt: receivers deduplicate by it.
            #expect(Set(try await Self.entries(server, channel: "flaky").compactMap { $0["id"] as? String }).count == 1)
        }
    }

    @Test func permanentFailureGoesStraightToDeadLetter() async throws {
        let refusing = RecordingChannel(name: "refusing", behaviour: .fail(.permanent("HTTP 404: no such hook")))
        let path = try alertingFile(Self.file(channels: ["refusing"]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await TestServer.with(channels: RecordingChannels(channels: [refusing]), Self.configure(path)) { server in
            try server.sample("web-1", cpu: 99, sequence: 1)
            try await eventually(timeout: .seconds(5), "the dead letter") { try await Self.entries(server, channel: "refusing").first?["state"] as? String == "dead" }
            let entry = try #require(try await Self.entries(server, channel: "refusing").first)
            #expect(entry["attempts"] as? Int == 1)
            #expect((entry["last_error"] as? String)?.contains("HTTP 404") == true)
            #expect(refusing.calls == 1)
        }
    }

    @Test func openNotificationsAreSentAgainUnderTheSameIDAfterARestart() async throws {
        let hung = RecordingChannel(name: "hook", behaviour: .hang)
        let path = try alertingFile(Self.file(channels: ["hook"]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-test-\(UUID().uuidString)")
        var notificationID: String?
        try await TestServer.with(directory: directory, keepingFiles: true, channels: RecordingChannels(channels: [hung]), Self.configure(path)) { server in
            try server.sample("web-1", cpu: 99, sequence: 1)
            try await eventually(timeout: .seconds(5), "a recorded attempt") { try await Self.entries(server, channel: "hook").first?["state"] as? String == "retrying" }
            notificationID = try await Self.entries(server, channel: "hook").first?["id"] as? String
        }
        let id = try #require(notificationID)
        let working = RecordingChannel(name: "hook")
        try await TestServer.with(directory: directory, channels: RecordingChannels(channels: [working]), Self.configure(path)) { server in
            try await eventually(timeout: .seconds(5), "the re-sent notification") { working.delivered.count == 1 }
            #expect(working.delivered.first?.id == id)
            #expect(working.attempts.first ?? 0 >= 2)
            // Nothing new was made for the same firing: still one notification in the log.
            #expect(try await Self.entries(server, channel: "hook").count == 1)
        }
    }

    @Test func tenThousandAlertsAtOnceAreOneNotificationPerGroupWithABoundedOutbox() async throws {
        let hook = RecordingChannel(name: "hook")
        let path = try alertingFile(Self.file(channels: ["hook"], groupWait: "200ms", rule: "cpu.cpu_percent_per_core[*]"))
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await TestServer.with(channels: RecordingChannels(channels: [hook]), { settings in
            Self.configure(path)(&settings)
            settings.alerting.maxOpenNotifications = 20
            settings.alerting.maxAlertsPerNotification = 1000
        }) { server in
            let cores = [Double](repeating: 99, count: 100)
            let start = ContinuousClock.now
            for host in 0..<100 { try server.sample("node-\(host)", cpu: 50, perCore: cores, sequence: host) }
            try await eventually(timeout: .seconds(60), "every group's notification") { hook.delivered.count == 100 }
            #expect(hook.delivered.allSatisfy { $0.alerts.count == 100 })
            #expect(Set(hook.delivered.map(\.groupKey)).count == 100)
            try await eventually(timeout: .seconds(10), "an empty outbox") { try await server.store.openNotificationCount() == 0 }
            #expect(hook.delivered.count == 100)
            // The outbox never held more than its bound.
            #expect(!server.logs.contains("open=21"))
            // And the API answered all along.
            let health = try await server.http("GET", "/api/health", as: .anonymous)
            #expect(health.status == 200)
            print("10,000 alerts → \(hook.delivered.count) notifications in \(ContinuousClock.now - start)")
        }
    }
}
