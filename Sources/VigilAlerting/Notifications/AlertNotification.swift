#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One message to one channel: a group of alerts (one host's, within `group_wait`) that fired,
/// repeat, or resolved. It is made once, stored in the outbox, and re-sent as the same bytes until
/// the channel confirms, so receivers can drop duplicates by ``id``.
public struct AlertNotification: Codable, Sendable, Equatable {
    /// Why this notification exists.
    public enum Reason: String, Codable, Sendable {
        /// Alerts began firing.
        case firing
        /// Alerts still firing and unacknowledged after `repeat_interval`.
        case repeated
        /// Alerts that fired have resolved.
        case resolved
    }

    /// The outbox's id: the same on every attempt (the receiver's idempotency key).
    public var id: String
    /// What the alerts have in common (the host, for the default grouping).
    public var groupKey: String
    /// The channel it is for, by name.
    public var channel: String
    public var reason: Reason
    /// Firing ones first, then resolved.
    public var alerts: [AlertSnapshot]
    public var createdAt: Date
    /// Where a person can look (the dashboard's Alerts page), when the server knows its public URL.
    public var externalURL: String?

    public init(id: String, groupKey: String, channel: String, reason: Reason, alerts: [AlertSnapshot], createdAt: Date, externalURL: String? = nil) {
        self.id = id
        self.groupKey = groupKey
        self.channel = channel
        self.reason = reason
        self.alerts = alerts
        self.createdAt = createdAt
        self.externalURL = externalURL
    }

    enum CodingKeys: String, CodingKey {
        case id, channel, reason, alerts
        case groupKey = "group_key"
        case createdAt = "created_at"
        case externalURL = "external_url"
    }

    /// `firing` when any alert in it fires, else `resolved` (Alertmanager's webhook convention).
    public var status: AlertStatus {
        self.alerts.contains { $0.status == .firing } ? .firing : .resolved
    }

    /// A one-line title for chat and email subjects: `[FIRING:2] web-1 cpu_high, memory_high`.
    public var title: String {
        let firing = self.alerts.filter { $0.status == .firing }
        let shown = firing.isEmpty ? self.alerts : firing
        let rules = Array(Set(shown.map(\.rule))).sorted().joined(separator: ", ")
        let hosts = Array(Set(shown.map(\.hostname))).sorted().joined(separator: ", ")
        let tag = firing.isEmpty ? "RESOLVED" : "FIRING:\(firing.count)"
        return "[\(tag)] \(hosts) \(rules)"
    }
}
