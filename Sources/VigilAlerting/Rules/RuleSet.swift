/// The rules in force: the configuration file's (over the shipped defaults, by name) and those
/// written through the API. Names are unique across both.
public struct RuleSet: Sendable, Equatable {
    /// In a stable order: configuration rules first, as written, then API rules by name.
    public private(set) var rules: [AlertRule]

    public static let maxRules = 10_000

    public init() { self.rules = [] }

    /// Builds the set and checks every rule; the first problem throws.
    ///
    /// - Parameters:
    ///   - configured: The configuration file's rules; a rule named like a default replaces it.
    ///   - stored: Rules written through the API.
    ///   - includeDefaults: Whether the shipped defaults apply (`alerting.default_rules`).
    public init(configured: [AlertRule], stored: [AlertRule], includeDefaults: Bool = true) throws(RuleValidationError) {
        var rules: [AlertRule] = []
        var names: Set<String> = []
        let base = includeDefaults ? AlertRule.defaults.filter { d in !configured.contains { $0.name == d.name } } : []
        for var rule in base + configured {
            rule.origin = .configuration
            guard names.insert(rule.name).inserted else {
                throw RuleValidationError(rule: rule.name, field: "name", problem: "two rules in the configuration have this name")
            }
            try rule.validate()
            rules.append(rule)
        }
        for var rule in stored.sorted(by: { $0.name < $1.name }) {
            rule.origin = .api
            guard names.insert(rule.name).inserted else {
                throw RuleValidationError(rule: rule.name, field: "name", problem: "a rule of the configuration file has this name")
            }
            try rule.validate()
            rules.append(rule)
        }
        guard rules.count <= Self.maxRules else {
            throw RuleValidationError(rule: "(all)", field: "rules", problem: "more than \(Self.maxRules) rules")
        }
        self.rules = rules
    }

    public func rule(named name: String) -> AlertRule? { self.rules.first { $0.name == name } }
    public var enabled: [AlertRule] { self.rules.filter(\.enabled) }
}
