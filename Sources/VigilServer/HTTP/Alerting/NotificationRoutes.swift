import Foundation
import Hummingbird
import VigilAlerting
import VigilMetrics
import VigilStore

/// `GET /api/notifications`: the delivery log, newest first.
struct NotificationRoutes: Sendable {
    let alerts: AlertService

    static let maxLimit = 1000
    static let defaultLimit = 100

    /// One row of the delivery log: the notification (without its full alert list: their ids and
    /// rules) and how its delivery went.
    struct LogEntry: Encodable {
        var id: String
        var channel: String
        var reason: AlertNotification.Reason
        var groupKey: String
        var title: String
        var alertIDs: [Int64]
        var state: OutboxEntry.State
        var attempts: Int
        var nextAttemptAt: Date?
        var lastError: String?
        var createdAt: Date
        var deliveredAt: Date?

        init(_ entry: OutboxEntry) {
            self.id = entry.id
            self.channel = entry.notification.channel
            self.reason = entry.notification.reason
            self.groupKey = entry.notification.groupKey
            self.title = entry.notification.title
            self.alertIDs = entry.notification.alerts.map(\.alertID)
            self.state = entry.state
            self.attempts = entry.attempts
            self.nextAttemptAt = entry.state == .retrying || entry.state == .pending ? entry.nextAttemptAt : nil
            self.lastError = entry.lastError
            self.createdAt = entry.notification.createdAt
            self.deliveredAt = entry.deliveredAt
        }

        enum CodingKeys: String, CodingKey {
            case id, channel, reason, title, state, attempts
            case groupKey = "group_key"
            case alertIDs = "alert_ids"
            case nextAttemptAt = "next_attempt_at"
            case lastError = "last_error"
            case createdAt = "created_at"
            case deliveredAt = "delivered_at"
        }
    }

    struct Page: Encodable {
        var notifications: [LogEntry]
        /// Pass as `before` for the next (older) page; absent on the last.
        var nextBefore: Date?

        enum CodingKeys: String, CodingKey {
            case notifications
            case nextBefore = "next_before"
        }
    }

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.get("notifications") { request, _ in
            let query = request.uri.queryParameters
            let limit = try APIRoutes.integer(query["limit"].map(String.init), name: "limit", default: Self.defaultLimit, range: 1...Self.maxLimit)
            var state: OutboxEntry.State?
            if let text = query["state"] {
                guard let parsed = OutboxEntry.State(rawValue: String(text)) else {
                    throw APIError(.badRequest, "invalid_parameter", "state must be one of \(OutboxEntry.State.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                state = parsed
            }
            var before: Date?
            if let text = query["before"] {
                guard let parsed = try? Date(String(text), strategy: Date.vigilISO8601) else {
                    throw APIError(.badRequest, "invalid_parameter", "before must be an ISO 8601 time (next_before of the previous page)")
                }
                before = parsed
            }
            let rows = try await self.alerts.store.notifications(channel: query["channel"].map(String.init), state: state, limit: limit, before: before)
            return try JSONResponse.make(Page(notifications: rows.map(LogEntry.init), nextBefore: rows.count == limit ? rows.last?.notification.createdAt : nil))
        }
    }
}
