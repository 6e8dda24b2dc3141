/// The direction of a threshold. The recovery threshold must lie on the quiet side of it.
public enum Comparison: String, Codable, Sendable, CaseIterable {
    case above = ">"
    case aboveOrEqual = ">="
    case below = "<"
    case belowOrEqual = "<="

    /// Whether `value` breaches `threshold`.
    public func breaches(_ value: Double, _ threshold: Double) -> Bool {
        switch self {
        case .above: value > threshold
        case .aboveOrEqual: value >= threshold
        case .below: value < threshold
        case .belowOrEqual: value <= threshold
        }
    }

    /// Whether a firing alert has recovered: strictly past the recovery threshold on the quiet
    /// side (fires above 90, resolves only below 85).
    public func recovers(_ value: Double, _ recovery: Double) -> Bool {
        switch self {
        case .above, .aboveOrEqual: value < recovery
        case .below, .belowOrEqual: value > recovery
        }
    }

    /// Whether `recovery` is on the quiet side of `threshold` (or equal: no hysteresis).
    public func isQuietSide(_ recovery: Double, of threshold: Double) -> Bool {
        switch self {
        case .above, .aboveOrEqual: recovery <= threshold
        case .below, .belowOrEqual: recovery >= threshold
        }
    }
}
