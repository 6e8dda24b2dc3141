/// One alert rule, as the configuration file and the API spell it:
///
/// ```yaml
/// - name: cpu_high
///   series: cpu.percent          # any name /api/servers/{h}/metrics lists, an alias, or a [*] pattern
///   aggregate: avg               # avg | max | min | last, over `window`
///   window: 1m
///   op: ">"                      # > >= < <=
///   threshold: 80
///   recovery: 75                 # resolves only past this (hysteresis); default: the threshold
///   for: 5m                      # true this long before it fires
///   severity: warning            # warning | critical
///   hosts: ["web-*"]             # names or globs; default: every host
///   host_labels: {env: prod}
///   labels: {team: ops}
///   summary: "CPU on {{host}} at {{value}}%"
/// ```
///
/// Built-in kinds (`kind: host_down | no_data | agent_restarted`) take no series or threshold.
public struct AlertRule: Sendable, Equatable, Codable {
    public var name: String
    public var kind: RuleKind
    public var series: SeriesSelector?
    public var aggregate: Aggregation
    public var window: AlertDuration
    public var op: Comparison
    public var threshold: Double?
    public var recovery: Double?
    /// `for`: how long the condition must hold before the alert fires; for `no_data`, how long
    /// without a sample; for `agent_restarted`, how long the event alert stays firing.
    public var duration: AlertDuration
    public var severity: Severity
    public var scope: HostScope
    public var labels: [String: String]
    public var summary: String?
    public var enabled: Bool
    /// Where the rule came from: rules of the configuration file are read-only through the API.
    public var origin: Origin

    public enum Origin: String, Codable, Sendable {
        case configuration
        case api
    }

    public static let defaultWindow = AlertDuration.minutes(1)
    public static let defaultRestartHold = AlertDuration.minutes(5)

    public init(
        name: String, kind: RuleKind = .threshold, series: String? = nil, aggregate: Aggregation = .avg,
        window: AlertDuration = AlertRule.defaultWindow, op: Comparison = .above, threshold: Double? = nil, recovery: Double? = nil,
        duration: AlertDuration = .zero, severity: Severity = .warning, scope: HostScope = .everyHost,
        labels: [String: String] = [:], summary: String? = nil, enabled: Bool = true, origin: Origin = .configuration
    ) {
        self.name = name
        self.kind = kind
        self.series = series.map(SeriesSelector.init)
        self.aggregate = aggregate
        self.window = window
        self.op = op
        self.threshold = threshold
        self.recovery = recovery
        self.duration = duration
        self.severity = severity
        self.scope = scope
        self.labels = labels
        self.summary = summary
        self.enabled = enabled
        self.origin = origin
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, series, aggregate, window, op, threshold, recovery, severity, hosts, labels, summary, enabled, origin
        case duration = "for"
        case hostLabels = "host_labels"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.name = try c.decode(String.self, forKey: .name)
        self.kind = try c.decodeIfPresent(RuleKind.self, forKey: .kind) ?? .threshold
        self.series = try c.decodeIfPresent(String.self, forKey: .series).map(SeriesSelector.init)
        self.aggregate = try c.decodeIfPresent(Aggregation.self, forKey: .aggregate) ?? .avg
        self.window = try c.decodeIfPresent(AlertDuration.self, forKey: .window) ?? Self.defaultWindow
        self.op = try c.decodeIfPresent(Comparison.self, forKey: .op) ?? .above
        self.threshold = try c.decodeIfPresent(Double.self, forKey: .threshold)
        self.recovery = try c.decodeIfPresent(Double.self, forKey: .recovery)
        let kind = self.kind
        self.duration = try c.decodeIfPresent(AlertDuration.self, forKey: .duration) ?? (kind == .agentRestarted ? Self.defaultRestartHold : .zero)
        self.severity = try c.decodeIfPresent(Severity.self, forKey: .severity) ?? (kind == .hostDown ? .critical : .warning)
        self.scope = HostScope(
            hosts: try c.decodeIfPresent([Glob].self, forKey: .hosts) ?? [],
            labels: try c.decodeIfPresent([String: String].self, forKey: .hostLabels) ?? [:]
        )
        self.labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        self.summary = try c.decodeIfPresent(String.self, forKey: .summary)
        self.enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
        self.origin = try c.decodeIfPresent(Origin.self, forKey: .origin) ?? .configuration
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(self.name, forKey: .name)
        try c.encode(self.kind, forKey: .kind)
        try c.encodeIfPresent(self.series?.text, forKey: .series)
        if self.kind == .threshold {
            try c.encode(self.aggregate, forKey: .aggregate)
            try c.encode(self.window, forKey: .window)
            try c.encode(self.op, forKey: .op)
            try c.encodeIfPresent(self.threshold, forKey: .threshold)
            try c.encodeIfPresent(self.recovery ?? self.threshold, forKey: .recovery)
        }
        try c.encode(self.duration, forKey: .duration)
        try c.encode(self.severity, forKey: .severity)
        try c.encode(self.scope.hosts, forKey: .hosts)
        try c.encode(self.scope.labels, forKey: .hostLabels)
        try c.encode(self.labels, forKey: .labels)
        try c.encodeIfPresent(self.summary, forKey: .summary)
        try c.encode(self.enabled, forKey: .enabled)
        try c.encode(self.origin, forKey: .origin)
    }

    /// The threshold a firing alert must cross back over to resolve.
    public var effectiveRecovery: Double? { self.recovery ?? self.threshold }
}
