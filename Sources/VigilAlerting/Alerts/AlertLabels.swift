extension AlertRule {
    /// The labels an alert of this rule carries: the rule's own, then `alertname`, `host`,
    /// `severity`, and `series` and `key` when it watches a series (ours win over the rule's).
    public func alertLabels(for transition: AlertTransition) -> [String: String] {
        var labels = self.labels
        labels["alertname"] = self.name
        labels["host"] = transition.hostname
        labels["severity"] = self.severity.rawValue
        labels["kind"] = self.kind.rawValue
        if let series = transition.series { labels["series"] = series }
        if let key = transition.key { labels["key"] = key }
        return labels
    }
}
