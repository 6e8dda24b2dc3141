import Foundation

/// Fills a rule's summary: `{{host}}`, `{{rule}}`, `{{value}}`, `{{threshold}}`, `{{series}}`,
/// `{{key}}` (a pattern's mount point or interface), `{{for}}`, `{{severity}}`, `{{reason}}`,
/// `{{labels.NAME}}`. Unknown placeholders stay as written, so a typo shows.
public enum SummaryTemplate {
    public static func render(_ template: String?, rule: AlertRule, transition: AlertTransition) -> String {
        let text = template ?? Self.fallback(rule)
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else { out += rest[open.lowerBound...]; return out }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            out += Self.value(of: name, rule: rule, transition: transition) ?? String(rest[open.lowerBound..<close.upperBound])
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    static func fallback(_ rule: AlertRule) -> String {
        switch rule.kind {
        case .threshold: "{{rule}} on {{host}}: {{series}} is {{value}} ({{op}} {{threshold}})"
        case .hostDown: "{{host}} is DOWN: {{reason}}"
        case .noData: "{{host}} sent no metrics: {{reason}}"
        case .agentRestarted: "{{host}} restarted: {{reason}}"
        }
    }

    static func value(of name: String, rule: AlertRule, transition: AlertTransition) -> String? {
        switch name {
        case "host": return transition.hostname
        case "rule": return rule.name
        case "value": return transition.value.map(Self.number) ?? "-"
        case "threshold": return rule.threshold.map(Self.number) ?? "-"
        case "op": return rule.op.rawValue
        case "series": return transition.series ?? "-"
        case "key": return transition.key ?? transition.series ?? "-"
        case "for": return rule.duration.description
        case "severity": return rule.severity.rawValue
        case "reason": return transition.reason ?? "-"
        default:
            guard name.hasPrefix("labels.") else { return nil }
            return rule.labels[String(name.dropFirst(7))]
        }
    }

    /// Two decimals at most, no trailing zeros: 93.5, 80, 0.25.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
        return String(format: "%.2f", rounded).replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression)
    }
}
