import Foundation
import VigilAlerting

/// Notifications the tests send: whole-second dates (the JSON carries seconds), a firing CPU alert
/// with its top processes, a resolved one, non-ASCII and markup in places a peer controls.
enum TestNotifications {
    static let startsAt = Date(timeIntervalSince1970: 1_800_000_000)

    static func cpuAlert(status: AlertStatus = .firing, host: String = "web-1", fingerprint: String = "fp-cpu-web-1", endsAt: Date? = nil) -> AlertSnapshot {
        AlertSnapshot(
            fingerprint: fingerprint, alertID: 42, rule: "cpu_high", hostname: host, series: "cpu.percent", severity: .critical,
            status: status, value: 97.25, threshold: 90, summary: "CPU above 90% on \(host)",
            labels: ["alertname": "cpu_high", "host": host, "severity": "critical", "team": "ops"],
            startsAt: Self.startsAt, endsAt: endsAt,
            topProcesses: [
                ProcessFigure(pid: 4242, name: "java", user: "app", cpuPercent: 180.5, rssBytes: 1_288_490_189),
                ProcessFigure(pid: 77, name: "postgres", user: "postgres", cpuPercent: 12, rssBytes: 536_870_912),
            ],
            acknowledgedBy: status == .firing ? "alice" : nil
        )
    }

    static func firing(id: String = "n-1001", channel: String = "hook", host: String = "web-1") -> AlertNotification {
        AlertNotification(
            id: id, groupKey: host, channel: channel, reason: .firing, alerts: [Self.cpuAlert(host: host)],
            createdAt: Self.startsAt.addingTimeInterval(30), externalURL: "https://vigil.example.com/alerts"
        )
    }

    static func resolved(id: String = "n-1002", channel: String = "hook", host: String = "web-1", endsAt: Date) -> AlertNotification {
        AlertNotification(
            id: id, groupKey: host, channel: channel, reason: .resolved, alerts: [Self.cpuAlert(status: .resolved, host: host, endsAt: endsAt)],
            createdAt: endsAt, externalURL: nil
        )
    }
}
