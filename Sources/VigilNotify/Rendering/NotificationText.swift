import Foundation
import VigilAlerting

/// The plain-text rendering every text channel shares (chat presets, ntfy, Telegram, email): for
/// each alert, firing or resolved, host, rule, value against threshold, summary, the top processes
/// and who acknowledged it. Channels escape it for their markup; it contains none itself.
enum NotificationText {
    /// The whole notification: the title, then one block per alert, then the link when known.
    static func text(_ notification: AlertNotification) -> String {
        var blocks = [notification.title]
        blocks += notification.alerts.map { Self.block($0) }
        if let url = notification.externalURL { blocks.append("Details: \(url)") }
        return blocks.joined(separator: "\n\n")
    }

    /// `FIRING critical cpu_high on web-1` and the alert's facts, one per line.
    static func block(_ alert: AlertSnapshot) -> String {
        ([Self.headline(alert)] + Self.facts(alert).map { "\($0.name): \($0.value)" }).joined(separator: "\n")
    }

    static func headline(_ alert: AlertSnapshot) -> String {
        "\(alert.status.rawValue.uppercased()) \(alert.severity.rawValue) \(alert.rule) on \(alert.hostname)"
    }

    /// The alert's facts as name/value pairs (Teams shows them as a fact set).
    static func facts(_ alert: AlertSnapshot) -> [(name: String, value: String)] {
        var facts: [(name: String, value: String)] = []
        if let value = Self.valueText(alert) { facts.append(("Value", value)) }
        if !alert.summary.isEmpty { facts.append(("Summary", alert.summary)) }
        if !alert.topProcesses.isEmpty { facts.append(("Top processes", Self.processesText(alert.topProcesses))) }
        if let who = alert.acknowledgedBy { facts.append(("Acknowledged by", who)) }
        return facts
    }

    /// `95.2 (threshold 90) on cpu.percent`, or nil for built-in kinds that carry no value.
    static func valueText(_ alert: AlertSnapshot) -> String? {
        guard let value = alert.value else { return nil }
        var text = Self.number(value)
        if let threshold = alert.threshold { text += " (threshold \(Self.number(threshold)))" }
        if let series = alert.series { text += " on \(series)" }
        return text
    }

    /// `java (pid 4242) cpu 180.5% rss 1.2 GiB; postgres (pid 77) …`
    static func processesText(_ processes: [ProcessFigure]) -> String {
        processes.map(Self.processText).joined(separator: "; ")
    }

    static func processText(_ process: ProcessFigure) -> String {
        var text = "\(process.name) (pid \(process.pid))"
        if let cpu = process.cpuPercent { text += " cpu \(Self.number(cpu))%" }
        text += " rss \(Self.bytes(process.rssBytes))"
        return text
    }

    /// At most two decimals, no trailing zeros: `95`, `95.25`, `0.5`.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
        return String(format: "%.2f", rounded).replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression)
    }

    /// Binary units, one decimal: `512 B`, `3.4 MiB`, `1.2 GiB`.
    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(count) B" }
        let tenths = (value * 10).rounded() / 10
        return (tenths == tenths.rounded() ? String(Int(tenths)) : String(format: "%.1f", tenths)) + " " + units[unit]
    }

    /// `text` cut to at most `limit` characters, ending in `…` when cut.
    static func truncated(_ text: String, to limit: Int) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(max(0, limit - 1))) + "…"
    }
}
