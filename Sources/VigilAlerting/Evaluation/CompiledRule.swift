/// A rule in the form evaluation wants: plain numbers instead of optionals and durations.
public struct CompiledRule: Sendable {
    public let rule: AlertRule
    public let index: Int
    public let aggregate: Aggregation
    public let op: Comparison
    public let threshold: Double
    public let recovery: Double
    public let forMilliseconds: Int64
    public let windowMilliseconds: Int64

    public init(_ rule: AlertRule, index: Int) {
        self.rule = rule
        self.index = index
        self.aggregate = rule.aggregate
        self.op = rule.op
        self.threshold = rule.threshold ?? .nan
        self.recovery = rule.effectiveRecovery ?? .nan
        self.forMilliseconds = rule.duration.milliseconds
        self.windowMilliseconds = rule.aggregate == .last ? 0 : rule.window.milliseconds
    }
}
