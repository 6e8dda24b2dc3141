/// What a rule watches.
public enum RuleKind: String, Codable, Sendable, CaseIterable {
    /// A series of each host, aggregated over a window, against a threshold, for a duration.
    case threshold
    /// The liveness detector declared the host DOWN: fires the moment it does, resolves on RECOVERED.
    case hostDown = "host_down"
    /// A connected host sent no metrics for the rule's `for`.
    case noData = "no_data"
    /// The agent started anew (registered after a clean stop) or the host rebooted (its boot time
    /// moved). An event: fires once and resolves by itself after the rule's `for` (default 5m).
    case agentRestarted = "agent_restarted"
}
