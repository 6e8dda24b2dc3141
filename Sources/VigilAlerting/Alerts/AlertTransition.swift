/// A change of one alert, as evaluation reports it: the service stores it, publishes it, and (for
/// `firing` and `resolved` after `firing`) notifies.
public struct AlertTransition: Sendable, Equatable {
    public var fingerprint: String
    public var rule: String
    public var kind: RuleKind
    public var severity: Severity
    public var hostname: String
    /// The series for threshold rules.
    public var series: String?
    /// The bracketed key of a pattern's series (a mount point, an interface).
    public var key: String?
    public var status: AlertStatus
    public var previous: AlertStatus
    public var value: Double?
    public var threshold: Double?
    /// Milliseconds since 1970, the server's clock.
    public var at: Int64
    /// Why, for built-in kinds (the liveness reason of a DOWN).
    public var reason: String?
    /// The heaviest processes by the rule's resource, when it fires.
    public var topProcesses: [ProcessFigure]

    public init(fingerprint: String, rule: String, kind: RuleKind, severity: Severity, hostname: String, series: String?, key: String?,
                status: AlertStatus, previous: AlertStatus, value: Double?, threshold: Double?, at: Int64, reason: String? = nil, topProcesses: [ProcessFigure] = []) {
        self.fingerprint = fingerprint
        self.rule = rule
        self.kind = kind
        self.severity = severity
        self.hostname = hostname
        self.series = series
        self.key = key
        self.status = status
        self.previous = previous
        self.value = value
        self.threshold = threshold
        self.at = at
        self.reason = reason
        self.topProcesses = topProcesses
    }

    /// Whether people hear of it: a firing alert, or the resolution of one that fired.
    public var isNotifiable: Bool {
        self.status == .firing || (self.status == .resolved && self.previous == .firing)
    }
}
