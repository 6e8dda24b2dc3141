/// Where an alert is in its life: `pending` while its condition holds but not yet for the rule's
/// `for`, `firing` once it has, `resolved` once it stopped (for thresholds: crossed the recovery
/// threshold, which is what gives hysteresis).
public enum AlertStatus: String, Codable, Sendable, CaseIterable {
    case pending
    case firing
    case resolved
}
