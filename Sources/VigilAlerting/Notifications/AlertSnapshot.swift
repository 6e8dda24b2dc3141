#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One alert as a notification carries it: everything a channel needs to render it, frozen at the
/// moment the notification was made (so a re-send after a restart says the same thing).
public struct AlertSnapshot: Codable, Sendable, Equatable {
    /// Stable identity of the alert: the same (rule, host, series) always has the same fingerprint.
    public var fingerprint: String
    /// The store's id of this occurrence (a new one each time the condition starts to hold).
    public var alertID: Int64
    public var rule: String
    public var hostname: String
    /// The series the rule watched (`disk.partitions[/var].percent`); nil for `host_down` and other built-in kinds.
    public var series: String?
    public var severity: Severity
    /// `firing` or `resolved` (a notification never carries a pending alert).
    public var status: AlertStatus
    /// The aggregated value when it fired (or when it resolved, for a resolved snapshot).
    public var value: Double?
    /// The threshold it crossed.
    public var threshold: Double?
    /// The rule's summary template, filled in.
    public var summary: String
    /// The rule's labels plus `alertname`, `host`, `severity` (and `series` when there is one).
    public var labels: [String: String]
    public var startsAt: Date
    /// When it resolved; nil while firing.
    public var endsAt: Date?
    /// The heaviest processes by the rule's resource when it fired (empty when the rule is not about CPU, memory or I/O).
    public var topProcesses: [ProcessFigure]
    /// Who acknowledged it, if anyone.
    public var acknowledgedBy: String?

    public init(
        fingerprint: String, alertID: Int64, rule: String, hostname: String, series: String?, severity: Severity,
        status: AlertStatus, value: Double?, threshold: Double?, summary: String, labels: [String: String],
        startsAt: Date, endsAt: Date?, topProcesses: [ProcessFigure], acknowledgedBy: String? = nil
    ) {
        self.fingerprint = fingerprint
        self.alertID = alertID
        self.rule = rule
        self.hostname = hostname
        self.series = series
        self.severity = severity
        self.status = status
        self.value = value
        self.threshold = threshold
        self.summary = summary
        self.labels = labels
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.topProcesses = topProcesses
        self.acknowledgedBy = acknowledgedBy
    }

    enum CodingKeys: String, CodingKey {
        case fingerprint, rule, hostname, series, severity, status, value, threshold, summary, labels
        case alertID = "alert_id"
        case startsAt = "starts_at"
        case endsAt = "ends_at"
        case topProcesses = "top_processes"
        case acknowledgedBy = "acknowledged_by"
    }
}
