extension AlertRule {
    /// The longest rule name (it becomes the `alertname` label and part of a URL).
    public static let maxNameBytes = 128
    /// The most samples one rule's window may hold per series at a 1 s cadence: a window is a
    /// ring of samples per host and series, so this bounds the memory a rule can take.
    public static let maxWindow = AlertDuration.seconds(6 * 3600)
    public static let maxLabels = 32
    public static let maxSummaryBytes = 1024

    /// Checks the rule on its own; ``RuleSet`` checks names across rules.
    ///
    /// A threshold rule on a series no document can produce is refused (`unknown series`): every
    /// series name has a fixed shape (``SeriesSelector/isKnown``), so a typo is caught when the
    /// rule is written, not discovered when the alert never fires. A known series that no host
    /// sends yet (a mount point not mounted anywhere) is accepted.
    public func validate() throws(RuleValidationError) {
        func fail(_ field: String, _ problem: String) -> RuleValidationError {
            RuleValidationError(rule: self.name, field: field, problem: problem)
        }
        guard !self.name.isEmpty, self.name.utf8.count <= Self.maxNameBytes,
              self.name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.:".unicodeScalars.contains($0)) }) else {
            throw fail("name", "1 to \(Self.maxNameBytes) characters of letters, digits, _ - . or :")
        }
        if self.labels.count > Self.maxLabels { throw fail("labels", "at most \(Self.maxLabels) labels") }
        for key in self.labels.keys where !Self.isLabelName(key) {
            throw fail("labels", "\(key.debugDescription) is not a label name (letters, digits and _, not starting with a digit)")
        }
        if let summary = self.summary, summary.utf8.count > Self.maxSummaryBytes {
            throw fail("summary", "longer than \(Self.maxSummaryBytes) bytes")
        }
        if self.duration > AlertDuration.maximum { throw fail("for", "longer than a year") }
        switch self.kind {
        case .threshold:
            guard let series = self.series, !series.text.isEmpty else { throw fail("series", "required for a threshold rule") }
            guard series.isKnown else {
                throw fail("series", "unknown series \(series.text.debugDescription); GET /api/servers/{host}/metrics lists a host's series (and their aliases, such as cpu.percent)")
            }
            guard let threshold = self.threshold else { throw fail("threshold", "required for a threshold rule") }
            guard threshold.isFinite else { throw fail("threshold", "must be a finite number (got \(threshold))") }
            if let recovery = self.recovery {
                guard recovery.isFinite else { throw fail("recovery", "must be a finite number (got \(recovery))") }
                guard self.op.isQuietSide(recovery, of: threshold) else {
                    let side = (self.op == .above || self.op == .aboveOrEqual) ? "at or below" : "at or above"
                    throw fail("recovery", "\(recovery) is on the wrong side: a rule that fires \(self.op.rawValue) \(threshold) must recover \(side) it")
                }
            }
            guard self.window > .zero || self.aggregate == .last else {
                throw fail("window", "must be longer than 0 (an empty window holds no samples)")
            }
            guard self.window <= Self.maxWindow else { throw fail("window", "at most \(Self.maxWindow)") }
        case .noData:
            guard self.duration > .zero else { throw fail("for", "a no_data rule needs how long without samples (for example 2m)") }
            if self.series != nil || self.threshold != nil { throw fail("series", "a no_data rule takes no series or threshold") }
        case .hostDown, .agentRestarted:
            if self.series != nil || self.threshold != nil { throw fail("series", "a \(self.kind.rawValue) rule takes no series or threshold") }
        }
    }

    /// Prometheus's label name grammar: `[a-zA-Z_][a-zA-Z0-9_]*`.
    public static func isLabelName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || first == "_" else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
    }
}
