import Foundation
import VigilAlerting

/// One occurrence of an alert: from the moment its condition started to hold until it resolved.
/// The same fingerprint has at most one unresolved occurrence at a time.
public struct StoredAlert: Sendable, Equatable, Codable {
    public var id: Int64
    public var fingerprint: String
    public var rule: String
    public var kind: RuleKind
    public var severity: Severity
    public var hostname: String
    public var series: String?
    public var key: String?
    public var status: AlertStatus
    /// The aggregate when it last changed state.
    public var value: Double?
    public var threshold: Double?
    public var summary: String
    public var labels: [String: String]
    public var topProcesses: [ProcessFigure]
    public var startedAt: Date
    public var firedAt: Date?
    public var resolvedAt: Date?
    public var acknowledgedBy: String?
    public var acknowledgedAt: Date?
    public var acknowledgeComment: String?
    /// The status last handed to the notification outbox: `firing` once its firing notification
    /// is queued, `resolved` once its resolution is. A restart re-plans whatever lags behind.
    public var notifiedStatus: AlertStatus?
    public var lastNotifiedAt: Date?

    public init(id: Int64, fingerprint: String, rule: String, kind: RuleKind, severity: Severity, hostname: String, series: String?, key: String?,
                status: AlertStatus, value: Double?, threshold: Double?, summary: String, labels: [String: String], topProcesses: [ProcessFigure],
                startedAt: Date, firedAt: Date?, resolvedAt: Date?, acknowledgedBy: String? = nil, acknowledgedAt: Date? = nil,
                acknowledgeComment: String? = nil, notifiedStatus: AlertStatus? = nil, lastNotifiedAt: Date? = nil) {
        self.id = id
        self.fingerprint = fingerprint
        self.rule = rule
        self.kind = kind
        self.severity = severity
        self.hostname = hostname
        self.series = series
        self.key = key
        self.status = status
        self.value = value
        self.threshold = threshold
        self.summary = summary
        self.labels = labels
        self.topProcesses = topProcesses
        self.startedAt = startedAt
        self.firedAt = firedAt
        self.resolvedAt = resolvedAt
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgedAt = acknowledgedAt
        self.acknowledgeComment = acknowledgeComment
        self.notifiedStatus = notifiedStatus
        self.lastNotifiedAt = lastNotifiedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, fingerprint, rule, kind, severity, hostname, series, key, status, value, threshold, summary, labels
        case topProcesses = "top_processes"
        case startedAt = "started_at"
        case firedAt = "fired_at"
        case resolvedAt = "resolved_at"
        case acknowledgedBy = "acknowledged_by"
        case acknowledgedAt = "acknowledged_at"
        case acknowledgeComment = "acknowledge_comment"
        case notifiedStatus = "notified_status"
        case lastNotifiedAt = "last_notified_at"
    }

    /// As a notification carries it.
    public func snapshot(status: AlertStatus? = nil) -> AlertSnapshot {
        AlertSnapshot(fingerprint: self.fingerprint, alertID: self.id, rule: self.rule, hostname: self.hostname, series: self.series,
                      severity: self.severity, status: status ?? self.status, value: self.value, threshold: self.threshold, summary: self.summary,
                      labels: self.labels, startsAt: self.firedAt ?? self.startedAt, endsAt: self.resolvedAt, topProcesses: self.topProcesses,
                      acknowledgedBy: self.acknowledgedBy)
    }
}
