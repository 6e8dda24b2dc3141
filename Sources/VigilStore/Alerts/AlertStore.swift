import Foundation
import VigilAlerting

/// What alerting keeps: rules written through the API, alert occurrences with their history,
/// silences, and the notification outbox.
///
/// The outbox is how "nothing lost, nothing doubled" holds: a notification is written (with the
/// alerts' `notified_status` moved in the same transaction) before any attempt, and marked
/// delivered only once the channel confirmed; a restart re-sends what is not marked, under the
/// same id, so receivers deduplicate.
public protocol AlertStore: Sendable {
    // MARK: Rules
    func storedRules() async throws -> [AlertRule]
    /// Inserts or replaces the rule of that name.
    func saveRule(_ rule: AlertRule, by user: String, at: Date) async throws
    /// Returns whether a rule had that name.
    func deleteRule(named name: String) async throws -> Bool

    // MARK: Alerts
    /// Unresolved occurrences (pending and firing).
    func activeAlerts() async throws -> [StoredAlert]
    /// Applies transitions in order, in one transaction; returns the rows they touched, as they are now.
    func record(_ changes: [AlertChange]) async throws -> [StoredAlert]
    func alert(id: Int64) async throws -> StoredAlert?
    /// Newest first; optional filters; `before` pages by id.
    func alertHistory(hostname: String?, rule: String?, limit: Int, before: Int64?) async throws -> [StoredAlert]
    /// Records who acknowledged an unresolved alert; nil when no unresolved alert has that id.
    func acknowledge(id: Int64, by user: String, comment: String, at: Date) async throws -> StoredAlert?
    /// Resolved occurrences whose firing was notified but whose resolution was not yet queued
    /// (a restart between the two): the resolved notices still owed.
    func alertsAwaitingResolvedNotice() async throws -> [StoredAlert]
    /// Deletes resolved occurrences resolved before `date`; returns how many.
    func pruneAlerts(resolvedBefore date: Date) async throws -> Int

    // MARK: Silences
    /// Silences not expired before `since` (active, future, and recently ended ones for the API).
    func silences(endingAfter since: Date) async throws -> [Silence]
    func saveSilence(_ silence: Silence) async throws
    /// Ends a silence now (its row stays, for the record). Returns it, or nil when unknown.
    func expireSilence(id: String, at: Date) async throws -> Silence?

    // MARK: Outbox
    /// Writes notifications and moves the alerts' notified state, atomically.
    func enqueue(_ notifications: [AlertNotification], notified: [(alertID: Int64, status: AlertStatus)], at: Date) async throws
    /// Notifications not yet delivered nor dead, oldest first.
    func openNotifications() async throws -> [OutboxEntry]
    /// How many notifications are open (the outbox's bound counts these).
    func openNotificationCount() async throws -> Int
    /// Records an attempt's outcome.
    func recordAttempt(id: String, state: OutboxEntry.State, attempts: Int, nextAttemptAt: Date, error: String?, at: Date) async throws
    /// The delivery log: newest first, optionally one channel or state; `before` pages by creation time.
    func notifications(channel: String?, state: OutboxEntry.State?, limit: Int, before: Date?) async throws -> [OutboxEntry]
    /// Deletes delivered and dead notifications last updated before `date`.
    func pruneNotifications(before date: Date) async throws -> Int
}
