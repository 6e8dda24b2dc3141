import Foundation
import VigilAlerting

/// A notification's alerts in Alertmanager's terms.
enum AlertmanagerPayload {
    /// Prometheus sends firing alerts valid for four resend intervals.
    static let validityMultiplier = 4

    static func alerts(for notification: AlertNotification, now: Date, resendInterval: Duration) -> [AlertmanagerAlert] {
        let validity = Double(resendInterval.components.seconds) + Double(resendInterval.components.attoseconds) / 1e18
        return notification.alerts.map { alert in
            AlertmanagerAlert(
                labels: Self.labels(alert),
                annotations: Self.annotations(alert),
                startsAt: alert.startsAt,
                endsAt: alert.status == .firing ? now.addingTimeInterval(validity * Double(Self.validityMultiplier)) : (alert.endsAt ?? now),
                generatorURL: notification.externalURL.flatMap { URL(string: $0)?.scheme == nil ? nil : $0 }
            )
        }
    }

    /// The snapshot's labels with `alertname`, `host` and `severity` always present; names made
    /// valid Prometheus label names (`[a-zA-Z_][a-zA-Z0-9_]*`), empty values dropped (Prometheus
    /// treats an empty label as absent, and Alertmanager would not match on it).
    static func labels(_ alert: AlertSnapshot) -> [String: String] {
        var labels: [String: String] = [:]
        for (name, value) in alert.labels where !value.isEmpty {
            labels[Self.labelName(name)] = value
        }
        labels["alertname"] = labels["alertname"] ?? alert.rule
        labels["host"] = labels["host"] ?? alert.hostname
        labels["severity"] = labels["severity"] ?? alert.severity.rawValue
        return labels
    }

    static func labelName(_ name: String) -> String {
        var result = String(name.unicodeScalars.map { scalar -> Character in
            let ok = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_")
            return ok ? Character(scalar) : "_"
        })
        if result.isEmpty || result.first!.isNumber { result = "_" + result }
        return result
    }

    static func annotations(_ alert: AlertSnapshot) -> [String: String] {
        var annotations: [String: String] = [:]
        if !alert.summary.isEmpty { annotations["summary"] = alert.summary }
        if let value = alert.value { annotations["value"] = NotificationText.number(value) }
        if let threshold = alert.threshold { annotations["threshold"] = NotificationText.number(threshold) }
        if let series = alert.series { annotations["series"] = series }
        if !alert.topProcesses.isEmpty { annotations["top_processes"] = NotificationText.processesText(alert.topProcesses) }
        if let who = alert.acknowledgedBy { annotations["acknowledged_by"] = who }
        return annotations
    }

    static func encode(_ alerts: [AlertmanagerAlert]) -> [UInt8] {
        NotificationJSON.encode(alerts)
    }
}
