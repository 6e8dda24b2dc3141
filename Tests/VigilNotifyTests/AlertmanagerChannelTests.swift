import Foundation
import Logging
import Testing
import VigilAlerting
@testable import VigilNotify

/// The Alertmanager channel against the real `alertmanager` binary: a firing alert is listed
/// active with its labels and annotations; once resolved it is no longer listed.
@Suite(.serialized) struct AlertmanagerChannelTests {
    // CI installs prometheus-alertmanager (.ci/run); without it these are skipped, and say so.
    static let installed: Bool = {
        if AlertmanagerProcess.executable == nil { print("AlertmanagerChannelTests skipped: neither prometheus-alertmanager nor alertmanager is on PATH") }
        return AlertmanagerProcess.executable != nil
    }()

    static func alert(in list: [[String: Any]], host: String) -> [String: Any]? {
        list.first { ($0["labels"] as? [String: String])?["host"] == host }
    }

    @Test(.enabled(if: AlertmanagerChannelTests.installed, "prometheus-alertmanager is not installed"))
    func firingIsActiveWithLabelsAndAnnotationsThenResolvedIsGone() async throws {
        let alertmanager = try await AlertmanagerProcess()
        defer { alertmanager.stop() }
        let channel = AlertmanagerChannel(name: "am", url: URL(string: alertmanager.baseURL)!, resendInterval: .seconds(30), timeout: .seconds(5), logger: Logger(label: "test"))
        defer { Task { await channel.shutdown() } }

        let host = "am-host-\(UUID().uuidString.prefix(8).lowercased())"
        var firing = TestNotifications.firing(channel: "am", host: host)
        firing.alerts[0].startsAt = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down) - 60)
        try await channel.deliver(firing, attempt: 1)

        let listed = try await waitFor("the alert in alertmanager") { Self.alert(in: try await alertmanager.alerts(), host: host) }
        let labels = try #require(listed["labels"] as? [String: String])
        #expect(labels["alertname"] == "cpu_high")
        #expect(labels["severity"] == "critical")
        #expect(labels["team"] == "ops")
        let annotations = try #require(listed["annotations"] as? [String: String])
        #expect(annotations["summary"] == "CPU above 90% on \(host)")
        #expect(annotations["value"] == "97.25")
        #expect(annotations["threshold"] == "90")
        #expect(annotations["acknowledged_by"] == "alice")
        #expect(annotations["top_processes"]?.contains("java (pid 4242)") == true)
        let status = try #require(listed["status"] as? [String: Any])
        #expect(["active", "unprocessed"].contains(status["state"] as? String ?? ""))
        // endsAt = now + 4 × resend interval: about two minutes ahead.
        let endsAt = try #require((listed["endsAt"] as? String).flatMap(Self.rfc3339))
        #expect(endsAt.timeIntervalSinceNow > 100 && endsAt.timeIntervalSinceNow < 125, "endsAt \(endsAt)")

        let resolved = TestNotifications.resolved(channel: "am", host: host, endsAt: Date().addingTimeInterval(-1))
        var resolvedAlert = resolved
        resolvedAlert.alerts[0].startsAt = firing.alerts[0].startsAt
        try await channel.deliver(resolvedAlert, attempt: 1)
        // Alertmanager's v2 list leaves out alerts whose endsAt has passed (resolved).
        _ = try await waitFor("the alert to leave alertmanager's list") { try await Self.alert(in: alertmanager.alerts(), host: host) == nil ? true : nil }
    }

    @Test(.enabled(if: AlertmanagerChannelTests.installed, "prometheus-alertmanager is not installed"))
    func invalidAlertIsAPermanentFailure() async throws {
        let alertmanager = try await AlertmanagerProcess()
        defer { alertmanager.stop() }
        let channel = AlertmanagerChannel(name: "am", url: URL(string: alertmanager.baseURL)!, timeout: .seconds(5), logger: Logger(label: "test"))
        defer { Task { await channel.shutdown() } }
        // A resolved alert that ends before it starts: Alertmanager answers 400.
        var bad = TestNotifications.resolved(channel: "am", endsAt: TestNotifications.startsAt.addingTimeInterval(-3600))
        bad.alerts[0].startsAt = TestNotifications.startsAt
        do {
            try await channel.deliver(bad, attempt: 1)
            Issue.record("alertmanager accepted an alert ending before it starts")
        } catch {
            #expect(error.kind == .permanent)
            #expect(error.detail.contains("400"))
        }
    }

    /// Alertmanager writes fractional seconds.
    static func rfc3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    @Test func payloadFollowsPrometheusRules() throws {
        let now = Date(timeIntervalSince1970: 1_900_000_000)
        var notification = TestNotifications.firing()
        notification.alerts[0].labels["bad-name.x"] = "v"
        notification.alerts[0].labels["empty"] = ""
        notification.alerts.append(TestNotifications.cpuAlert(status: .resolved, host: "web-2", fingerprint: "fp2", endsAt: now.addingTimeInterval(-5)))
        let alerts = AlertmanagerPayload.alerts(for: notification, now: now, resendInterval: .seconds(60))
        #expect(alerts.count == 2)
        #expect(alerts[0].endsAt == now.addingTimeInterval(240))
        #expect(alerts[1].endsAt == now.addingTimeInterval(-5))
        #expect(alerts[0].labels["bad_name_x"] == "v")
        #expect(alerts[0].labels["empty"] == nil)
        #expect(alerts[0].generatorURL == "https://vigil.example.com/alerts")
        var bare = TestNotifications.firing()
        bare.alerts[0].labels = [:]
        let filled = AlertmanagerPayload.alerts(for: bare, now: now, resendInterval: .seconds(60))[0].labels
        #expect(filled == ["alertname": "cpu_high", "host": "web-1", "severity": "critical"])
    }
}
