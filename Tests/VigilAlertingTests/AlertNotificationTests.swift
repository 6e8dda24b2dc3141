import Foundation
import Testing
import VigilAlerting

@Suite struct AlertNotificationTests {
    static func snapshot(_ rule: String, host: String, status: AlertStatus) -> AlertSnapshot {
        AlertSnapshot(
            fingerprint: "f-\(rule)-\(host)", alertID: 1, rule: rule, hostname: host, series: nil, severity: .critical,
            status: status, value: 95, threshold: 90, summary: "\(rule) on \(host)", labels: ["alertname": rule],
            startsAt: Date(timeIntervalSince1970: 1_800_000_000), endsAt: nil, topProcesses: []
        )
    }

    @Test func titleCountsFiringAlertsAndNamesHostsAndRules() {
        let notification = AlertNotification(
            id: "n1", groupKey: "web-1", channel: "hook", reason: .firing,
            alerts: [Self.snapshot("memory_high", host: "web-1", status: .firing), Self.snapshot("cpu_high", host: "web-1", status: .firing)],
            createdAt: Date()
        )
        #expect(notification.status == .firing)
        #expect(notification.title == "[FIRING:2] web-1 cpu_high, memory_high")
    }

    @Test func allResolvedIsResolved() {
        let notification = AlertNotification(
            id: "n2", groupKey: "web-1", channel: "hook", reason: .resolved,
            alerts: [Self.snapshot("cpu_high", host: "web-1", status: .resolved)], createdAt: Date()
        )
        #expect(notification.status == .resolved)
        #expect(notification.title == "[RESOLVED] web-1 cpu_high")
    }
}
