/// How a rule reduces a series' samples inside its window to one value.
public enum Aggregation: String, Codable, Sendable, CaseIterable {
    case avg
    case max
    case min
    /// The newest sample (the window only bounds how old it may be).
    case last
}
