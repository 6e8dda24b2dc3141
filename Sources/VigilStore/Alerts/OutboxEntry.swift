import Foundation
import VigilAlerting

/// A notification in the durable outbox, with its delivery state: the delivery log's row.
public struct OutboxEntry: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Waiting for its first attempt.
        case pending
        /// An attempt failed for a reason that may pass; tried again at `nextAttemptAt`.
        case retrying
        case delivered
        /// Given up: a permanent failure, or the attempts ran out. Visible in the delivery log.
        case dead
    }

    public var notification: AlertNotification
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastError: String?
    public var deliveredAt: Date?
    public var updatedAt: Date

    public init(notification: AlertNotification, state: State = .pending, attempts: Int = 0, nextAttemptAt: Date, lastError: String? = nil, deliveredAt: Date? = nil, updatedAt: Date) {
        self.notification = notification
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.deliveredAt = deliveredAt
        self.updatedAt = updatedAt
    }

    public var id: String { self.notification.id }

    enum CodingKeys: String, CodingKey {
        case notification, state, attempts
        case nextAttemptAt = "next_attempt_at"
        case lastError = "last_error"
        case deliveredAt = "delivered_at"
        case updatedAt = "updated_at"
    }
}
