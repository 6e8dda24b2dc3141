/// Why a rule was refused, naming the rule and the field: `rule cpu_high: window: must be longer than 0`.
public struct RuleValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var rule: String
    /// The field as the file and the API spell it (`window`, `recovery`, `for`).
    public var field: String
    public var problem: String

    public init(rule: String, field: String, problem: String) {
        self.rule = rule
        self.field = field
        self.problem = problem
    }

    public var description: String { "rule \(self.rule.debugDescription): \(self.field): \(self.problem)" }
}
