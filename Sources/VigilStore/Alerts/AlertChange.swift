import VigilAlerting

/// A transition with what the service added to it (the summary and labels the rule gives it), as the store records it.
public struct AlertChange: Sendable {
    public var transition: AlertTransition
    public var summary: String
    public var labels: [String: String]

    public init(transition: AlertTransition, summary: String, labels: [String: String]) {
        self.transition = transition
        self.summary = summary
        self.labels = labels
    }
}
