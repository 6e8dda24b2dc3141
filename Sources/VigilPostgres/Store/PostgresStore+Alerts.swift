import Foundation
import NIOCore
import PostgresNIO
import VigilAlerting
import VigilStore

/// Rules, alerts, silences and the notification outbox (migration v5): the ``AlertStore`` part.
/// In a cluster only the leader evaluates and delivers; every member reads.
extension PostgresStore {
    private static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try AlertStoreCoding.encoder.encode(value), as: UTF8.self)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try AlertStoreCoding.decoder.decode(T.self, from: Data(text.utf8))
    }

    // MARK: Rules

    public func storedRules() async throws -> [AlertRule] {
        var rules: [AlertRule] = []
        for try await body in try await self.client.query("SELECT body FROM alert_rules ORDER BY name", logger: self.logger).decode(String.self) {
            rules.append(try Self.decode(AlertRule.self, body))
        }
        return rules
    }

    public func saveRule(_ rule: AlertRule, by user: String, at date: Date) async throws {
        let body = try Self.json(rule)
        try await self.client.query("""
            INSERT INTO alert_rules(name, body, created_by, updated_at) VALUES (\(rule.name), \(body), \(user), \(date.timeIntervalSince1970))
            ON CONFLICT (name) DO UPDATE SET body = excluded.body, created_by = excluded.created_by, updated_at = excluded.updated_at
            """, logger: self.logger)
    }

    public func deleteRule(named name: String) async throws -> Bool {
        try await !self.client.query("DELETE FROM alert_rules WHERE name = \(name) RETURNING name", logger: self.logger).rows().isEmpty
    }

    // MARK: Alerts

    public func activeAlerts() async throws -> [StoredAlert] {
        try await self.client.query("SELECT * FROM alerts WHERE status <> 'resolved' ORDER BY id", logger: self.logger).rows().map(Self.alert(from:))
    }

    public func record(_ changes: [AlertChange]) async throws -> [StoredAlert] {
        guard !changes.isEmpty else { return [] }
        return try await self.transaction { connection in
            var touched: [Int64: StoredAlert] = [:]
            var order: [Int64] = []
            for change in changes {
                let t = change.transition
                let at = Double(t.at) / 1000
                let processes = try Self.json(t.topProcesses)
                let labels = try Self.json(change.labels)
                let current = try await connection.query(
                    "SELECT id FROM alerts WHERE fingerprint = \(t.fingerprint) AND status <> 'resolved' FOR UPDATE", logger: self.logger)
                    .rows().first.map { try $0.value("id", as: Int64.self) }
                let id: Int64
                switch (t.status, current) {
                case (.resolved, nil):
                    continue  // nothing unresolved to close (already resolved before a restart)
                case (.resolved, let existing?):
                    try await connection.query(
                        "UPDATE alerts SET status = 'resolved', resolved_at = \(at), value = COALESCE(\(t.value), value) WHERE id = \(existing)",
                        logger: self.logger)
                    id = existing
                case (_, let existing?):
                    let firing = t.status == .firing
                    try await connection.query("""
                        UPDATE alerts SET status = \(t.status.rawValue), value = \(t.value), summary = \(change.summary), labels = \(labels),
                          fired_at = CASE WHEN \(firing) THEN \(at) ELSE fired_at END,
                          top_processes = CASE WHEN \(firing) THEN \(processes) ELSE top_processes END
                        WHERE id = \(existing)
                        """, logger: self.logger)
                    id = existing
                case (_, nil):
                    let firedAt: Double? = t.status == .firing ? at : nil
                    let inserted = try await connection.query("""
                        INSERT INTO alerts(fingerprint, rule, kind, severity, hostname, series, key, status, value, threshold, summary, labels,
                                           top_processes, started_at, fired_at)
                        VALUES (\(t.fingerprint), \(t.rule), \(t.kind.rawValue), \(t.severity.rawValue), \(t.hostname), \(t.series), \(t.key),
                                \(t.status.rawValue), \(t.value), \(t.threshold), \(change.summary), \(labels), \(processes), \(at), \(firedAt))
                        RETURNING id
                        """, logger: self.logger).rows()
                    guard let row = inserted.first else { throw PostgresStoreError.inconsistent("alert insert returned no id") }
                    id = try row.value("id")
                }
                order.append(id)
                touched[id] = try await connection.query("SELECT * FROM alerts WHERE id = \(id)", logger: self.logger).rows().first.map(Self.alert(from:))
            }
            var seen: Set<Int64> = []
            return order.reversed().filter { seen.insert($0).inserted }.reversed().compactMap { touched[$0] }
        }
    }

    public func alert(id: Int64) async throws -> StoredAlert? {
        try await self.client.query("SELECT * FROM alerts WHERE id = \(id)", logger: self.logger).rows().first.map(Self.alert(from:))
    }

    public func alertHistory(hostname: String?, rule: String?, limit: Int, before: Int64?) async throws -> [StoredAlert] {
        try await self.client.query("""
            SELECT * FROM alerts
            WHERE (\(hostname)::text IS NULL OR hostname = \(hostname)) AND (\(rule)::text IS NULL OR rule = \(rule))
              AND (\(before)::bigint IS NULL OR id < \(before))
            ORDER BY id DESC LIMIT \(Int64(max(0, limit)))
            """, logger: self.logger).rows().map(Self.alert(from:))
    }

    public func acknowledge(id: Int64, by user: String, comment: String, at date: Date) async throws -> StoredAlert? {
        try await self.client.query("""
            UPDATE alerts SET acknowledged_by = \(user), acknowledged_at = \(date.timeIntervalSince1970), acknowledge_comment = \(comment)
            WHERE id = \(id) AND status <> 'resolved' RETURNING *
            """, logger: self.logger).rows().first.map(Self.alert(from:))
    }

    public func alertsAwaitingResolvedNotice() async throws -> [StoredAlert] {
        try await self.client.query(
            "SELECT * FROM alerts WHERE status = 'resolved' AND notified_status = 'firing' ORDER BY id", logger: self.logger)
            .rows().map(Self.alert(from:))
    }

    public func pruneAlerts(resolvedBefore date: Date) async throws -> Int {
        try await self.client.query(
            "DELETE FROM alerts WHERE status = 'resolved' AND resolved_at < \(date.timeIntervalSince1970) RETURNING id", logger: self.logger)
            .rows().count
    }

    // MARK: Silences

    public func silences(endingAfter since: Date) async throws -> [Silence] {
        var silences: [Silence] = []
        for try await body in try await self.client.query(
            "SELECT body FROM silences WHERE ends_at > \(since.timeIntervalSince1970) ORDER BY ends_at", logger: self.logger).decode(String.self) {
            silences.append(try Self.decode(Silence.self, body))
        }
        return silences
    }

    public func saveSilence(_ silence: Silence) async throws {
        let body = try Self.json(silence)
        try await self.client.query("""
            INSERT INTO silences(id, body, ends_at) VALUES (\(silence.id), \(body), \(silence.endsAt.timeIntervalSince1970))
            ON CONFLICT (id) DO UPDATE SET body = excluded.body, ends_at = excluded.ends_at
            """, logger: self.logger)
    }

    public func expireSilence(id: String, at date: Date) async throws -> Silence? {
        try await self.transaction { connection in
            guard let row = try await connection.query("SELECT body FROM silences WHERE id = \(id) FOR UPDATE", logger: self.logger).rows().first
            else { return nil }
            var silence = try Self.decode(Silence.self, try row.value("body", as: String.self))
            if silence.endsAt > date {
                silence.endsAt = max(date, silence.startsAt)
                let updated = try Self.json(silence)
                try await connection.query(
                    "UPDATE silences SET body = \(updated), ends_at = \(silence.endsAt.timeIntervalSince1970) WHERE id = \(id)", logger: self.logger)
            }
            return silence
        }
    }

    // MARK: Outbox

    public func enqueue(_ notifications: [AlertNotification], notified: [(alertID: Int64, status: AlertStatus)], at date: Date) async throws {
        let rows = try notifications.map { ($0, ByteBuffer(data: try AlertStoreCoding.encoder.encode($0))) }
        let now = date.timeIntervalSince1970
        let marks = notified.map { ($0.alertID, $0.status.rawValue) }
        try await self.transaction { connection in
            for (notification, body) in rows {
                try await connection.query("""
                    INSERT INTO notifications(id, channel, body, state, attempts, next_attempt_at, created_at, updated_at)
                    VALUES (\(notification.id), \(notification.channel), \(body), 'pending', 0, \(now),
                            \(notification.createdAt.timeIntervalSince1970), \(now))
                    """, logger: self.logger)
            }
            for (id, status) in marks {
                try await connection.query(
                    "UPDATE alerts SET notified_status = \(status), last_notified_at = \(now) WHERE id = \(id)", logger: self.logger)
            }
        }
    }

    public func openNotifications() async throws -> [OutboxEntry] {
        try await self.client.query(
            "SELECT * FROM notifications WHERE state IN ('pending', 'retrying') ORDER BY created_at", logger: self.logger)
            .rows().map(Self.entry(from:))
    }

    public func openNotificationCount() async throws -> Int {
        for try await count in try await self.client.query(
            "SELECT COUNT(*) FROM notifications WHERE state IN ('pending', 'retrying')", logger: self.logger).decode(Int64.self) {
            return Int(count)
        }
        return 0
    }

    public func recordAttempt(id: String, state: OutboxEntry.State, attempts: Int, nextAttemptAt: Date, error: String?, at date: Date) async throws {
        let now = date.timeIntervalSince1970
        try await self.client.query("""
            UPDATE notifications SET state = \(state.rawValue), attempts = \(Int64(attempts)), next_attempt_at = \(nextAttemptAt.timeIntervalSince1970),
              last_error = \(error), updated_at = \(now),
              delivered_at = CASE WHEN \(state == .delivered) THEN \(now) ELSE delivered_at END
            WHERE id = \(id)
            """, logger: self.logger)
    }

    public func notifications(channel: String?, state: OutboxEntry.State?, limit: Int, before: Date?) async throws -> [OutboxEntry] {
        try await self.client.query("""
            SELECT * FROM notifications
            WHERE (\(channel)::text IS NULL OR channel = \(channel)) AND (\(state?.rawValue)::text IS NULL OR state = \(state?.rawValue))
              AND (\(before?.timeIntervalSince1970)::double precision IS NULL OR created_at < \(before?.timeIntervalSince1970))
            ORDER BY created_at DESC LIMIT \(Int64(max(0, limit)))
            """, logger: self.logger).rows().map(Self.entry(from:))
    }

    public func pruneNotifications(before date: Date) async throws -> Int {
        try await self.client.query(
            "DELETE FROM notifications WHERE state IN ('delivered', 'dead') AND updated_at < \(date.timeIntervalSince1970) RETURNING id",
            logger: self.logger).rows().count
    }

    // MARK: Rows

    static func alert(from row: PostgresRandomAccessRow) throws -> StoredAlert {
        StoredAlert(
            id: try row.value("id"), fingerprint: try row.value("fingerprint"), rule: try row.value("rule"),
            kind: RuleKind(rawValue: try row.value("kind")) ?? .threshold, severity: Severity(rawValue: try row.value("severity")) ?? .warning,
            hostname: try row.value("hostname"), series: try row.value("series", as: String?.self), key: try row.value("key", as: String?.self),
            status: AlertStatus(rawValue: try row.value("status")) ?? .resolved,
            value: try row.value("value", as: Double?.self), threshold: try row.value("threshold", as: Double?.self),
            summary: try row.value("summary"),
            labels: try Self.decode([String: String].self, try row.value("labels")),
            topProcesses: try Self.decode([ProcessFigure].self, try row.value("top_processes")),
            startedAt: try row.date("started_at"), firedAt: try row.optionalDate("fired_at"), resolvedAt: try row.optionalDate("resolved_at"),
            acknowledgedBy: try row.value("acknowledged_by", as: String?.self), acknowledgedAt: try row.optionalDate("acknowledged_at"),
            acknowledgeComment: try row.value("acknowledge_comment", as: String?.self),
            notifiedStatus: try row.value("notified_status", as: String?.self).flatMap(AlertStatus.init(rawValue:)),
            lastNotifiedAt: try row.optionalDate("last_notified_at")
        )
    }

    static func entry(from row: PostgresRandomAccessRow) throws -> OutboxEntry {
        OutboxEntry(
            notification: try AlertStoreCoding.decoder.decode(AlertNotification.self, from: Data(try row.bytes("body"))),
            state: OutboxEntry.State(rawValue: try row.value("state")) ?? .pending, attempts: Int(try row.value("attempts", as: Int64.self)),
            nextAttemptAt: try row.date("next_attempt_at"), lastError: try row.value("last_error", as: String?.self),
            deliveredAt: try row.optionalDate("delivered_at"), updatedAt: try row.date("updated_at")
        )
    }
}
