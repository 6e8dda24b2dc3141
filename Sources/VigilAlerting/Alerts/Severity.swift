/// How urgent an alert is; routes pick channels by it.
public enum Severity: String, Codable, Sendable, CaseIterable, Comparable {
    case warning
    case critical

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        lhs == .warning && rhs == .critical
    }
}
