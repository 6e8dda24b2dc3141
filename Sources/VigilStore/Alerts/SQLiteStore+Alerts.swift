import Foundation
import GRDB
import VigilAlerting

// `AlertStore` conformance comes with `VigilStore` (declared where the class is).
extension SQLiteStore {
    static var alertEncoder: JSONEncoder { AlertStoreCoding.encoder }
    static var alertDecoder: JSONDecoder { AlertStoreCoding.decoder }

    // MARK: Rules

    public func storedRules() async throws -> [AlertRule] {
        try await self.pool.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM alert_rules ORDER BY name").map {
                try Self.alertDecoder.decode(AlertRule.self, from: Data($0.utf8))
            }
        }
    }

    public func saveRule(_ rule: AlertRule, by user: String, at date: Date) async throws {
        let body = String(decoding: try Self.alertEncoder.encode(rule), as: UTF8.self)
        try await self.pool.write { db in
            try db.execute(sql: """
                INSERT INTO alert_rules(name, body, created_by, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET body = excluded.body, created_by = excluded.created_by, updated_at = excluded.updated_at
                """, arguments: [rule.name, body, user, date.timeIntervalSince1970])
        }
    }

    public func deleteRule(named name: String) async throws -> Bool {
        try await self.pool.write { db in
            try db.execute(sql: "DELETE FROM alert_rules WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    // MARK: Alerts

    public func activeAlerts() async throws -> [StoredAlert] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alerts WHERE status != 'resolved' ORDER BY id").map(Self.alert(from:))
        }
    }

    public func record(_ changes: [AlertChange]) async throws -> [StoredAlert] {
        guard !changes.isEmpty else { return [] }
        return try await self.pool.write { db in
            var touched: [Int64: StoredAlert] = [:]
            var order: [Int64] = []
            for change in changes {
                let t = change.transition
                let at = Double(t.at) / 1000
                let processes = String(decoding: try Self.alertEncoder.encode(t.topProcesses), as: UTF8.self)
                let labels = String(decoding: try Self.alertEncoder.encode(change.labels), as: UTF8.self)
                let current = try Int64.fetchOne(db, sql: "SELECT id FROM alerts WHERE fingerprint = ? AND status != 'resolved'", arguments: [t.fingerprint])
                let id: Int64
                switch (t.status, current) {
                case (.resolved, nil):
                    continue  // nothing unresolved to close (already resolved before a restart)
                case (.resolved, let id?):
                    try db.execute(sql: "UPDATE alerts SET status = 'resolved', resolved_at = ?, value = COALESCE(?, value) WHERE id = ?",
                                   arguments: [at, t.value, id])
                    touched[id] = nil
                    order.append(id)
                    touched[id] = try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE id = ?", arguments: [id]).map(Self.alert(from:))
                    continue
                case (_, let existing?):
                    try db.execute(sql: """
                        UPDATE alerts SET status = ?, value = ?, summary = ?, labels = ?,
                          fired_at = CASE WHEN ? = 'firing' THEN ? ELSE fired_at END,
                          top_processes = CASE WHEN ? = 'firing' THEN ? ELSE top_processes END
                        WHERE id = ?
                        """, arguments: [t.status.rawValue, t.value, change.summary, labels, t.status.rawValue, at, t.status.rawValue, processes, existing])
                    id = existing
                case (_, nil):
                    try db.execute(sql: """
                        INSERT INTO alerts(fingerprint, rule, kind, severity, hostname, series, key, status, value, threshold, summary, labels,
                                           top_processes, started_at, fired_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [t.fingerprint, t.rule, t.kind.rawValue, t.severity.rawValue, t.hostname, t.series, t.key, t.status.rawValue,
                                         t.value, t.threshold, change.summary, labels, processes, at, t.status == .firing ? at : nil])
                    id = db.lastInsertedRowID
                }
                order.append(id)
                touched[id] = try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE id = ?", arguments: [id]).map(Self.alert(from:))
            }
            var seen: Set<Int64> = []
            return order.reversed().filter { seen.insert($0).inserted }.reversed().compactMap { touched[$0] }
        }
    }

    public func alert(id: Int64) async throws -> StoredAlert? {
        try await self.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE id = ?", arguments: [id]).map(Self.alert(from:))
        }
    }

    public func alertHistory(hostname: String?, rule: String?, limit: Int, before: Int64?) async throws -> [StoredAlert] {
        try await self.pool.read { db in
            var sql = "SELECT * FROM alerts WHERE 1"
            var arguments: StatementArguments = []
            if let hostname { sql += " AND hostname = ?"; arguments += [hostname] }
            if let rule { sql += " AND rule = ?"; arguments += [rule] }
            if let before { sql += " AND id < ?"; arguments += [before] }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.alert(from:))
        }
    }

    public func acknowledge(id: Int64, by user: String, comment: String, at date: Date) async throws -> StoredAlert? {
        try await self.pool.write { db in
            try db.execute(sql: "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ?, acknowledge_comment = ? WHERE id = ? AND status != 'resolved'",
                           arguments: [user, date.timeIntervalSince1970, comment, id])
            guard db.changesCount > 0 else { return nil }
            return try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE id = ?", arguments: [id]).map(Self.alert(from:))
        }
    }

    public func alertsAwaitingResolvedNotice() async throws -> [StoredAlert] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alerts WHERE status = 'resolved' AND notified_status = 'firing' ORDER BY id").map(Self.alert(from:))
        }
    }

    public func pruneAlerts(resolvedBefore date: Date) async throws -> Int {
        try await self.pool.write { db in
            try db.execute(sql: "DELETE FROM alerts WHERE status = 'resolved' AND resolved_at < ?", arguments: [date.timeIntervalSince1970])
            return db.changesCount
        }
    }

    // MARK: Silences

    public func silences(endingAfter since: Date) async throws -> [Silence] {
        try await self.pool.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM silences WHERE ends_at > ? ORDER BY ends_at", arguments: [since.timeIntervalSince1970]).map {
                try Self.alertDecoder.decode(Silence.self, from: Data($0.utf8))
            }
        }
    }

    public func saveSilence(_ silence: Silence) async throws {
        let body = String(decoding: try Self.alertEncoder.encode(silence), as: UTF8.self)
        try await self.pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO silences(id, body, ends_at) VALUES (?, ?, ?)",
                           arguments: [silence.id, body, silence.endsAt.timeIntervalSince1970])
        }
    }

    public func expireSilence(id: String, at date: Date) async throws -> Silence? {
        try await self.pool.write { db in
            guard let body = try String.fetchOne(db, sql: "SELECT body FROM silences WHERE id = ?", arguments: [id]) else { return nil }
            var silence = try Self.alertDecoder.decode(Silence.self, from: Data(body.utf8))
            if silence.endsAt > date {
                silence.endsAt = max(date, silence.startsAt)
                let updated = String(decoding: try Self.alertEncoder.encode(silence), as: UTF8.self)
                try db.execute(sql: "UPDATE silences SET body = ?, ends_at = ? WHERE id = ?", arguments: [updated, silence.endsAt.timeIntervalSince1970, id])
            }
            return silence
        }
    }

    // MARK: Outbox

    public func enqueue(_ notifications: [AlertNotification], notified: [(alertID: Int64, status: AlertStatus)], at date: Date) async throws {
        let rows = try notifications.map { ($0, try Self.alertEncoder.encode($0)) }
        let now = date.timeIntervalSince1970
        try await self.pool.write { db in
            for (notification, body) in rows {
                try db.execute(sql: """
                    INSERT INTO notifications(id, channel, body, state, attempts, next_attempt_at, created_at, updated_at)
                    VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)
                    """, arguments: [notification.id, notification.channel, body, now, notification.createdAt.timeIntervalSince1970, now])
            }
            for (id, status) in notified {
                try db.execute(sql: "UPDATE alerts SET notified_status = ?, last_notified_at = ? WHERE id = ?", arguments: [status.rawValue, now, id])
            }
        }
    }

    public func openNotifications() async throws -> [OutboxEntry] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM notifications WHERE state IN ('pending', 'retrying') ORDER BY created_at").map(Self.entry(from:))
        }
    }

    public func openNotificationCount() async throws -> Int {
        try await self.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM notifications WHERE state IN ('pending', 'retrying')") ?? 0
        }
    }

    public func recordAttempt(id: String, state: OutboxEntry.State, attempts: Int, nextAttemptAt: Date, error: String?, at date: Date) async throws {
        try await self.pool.write { db in
            try db.execute(sql: """
                UPDATE notifications SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ?,
                  delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END
                WHERE id = ?
                """, arguments: [state.rawValue, attempts, nextAttemptAt.timeIntervalSince1970, error, date.timeIntervalSince1970,
                                 state.rawValue, date.timeIntervalSince1970, id])
        }
    }

    public func notifications(channel: String?, state: OutboxEntry.State?, limit: Int, before: Date?) async throws -> [OutboxEntry] {
        try await self.pool.read { db in
            var sql = "SELECT * FROM notifications WHERE 1"
            var arguments: StatementArguments = []
            if let channel { sql += " AND channel = ?"; arguments += [channel] }
            if let state { sql += " AND state = ?"; arguments += [state.rawValue] }
            if let before { sql += " AND created_at < ?"; arguments += [before.timeIntervalSince1970] }
            sql += " ORDER BY created_at DESC LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.entry(from:))
        }
    }

    public func pruneNotifications(before date: Date) async throws -> Int {
        try await self.pool.write { db in
            try db.execute(sql: "DELETE FROM notifications WHERE state IN ('delivered', 'dead') AND updated_at < ?", arguments: [date.timeIntervalSince1970])
            return db.changesCount
        }
    }

    // MARK: Rows

    static func alert(from row: Row) throws -> StoredAlert {
        func date(_ column: String) -> Date? { (row[column] as Double?).map(Date.init(timeIntervalSince1970:)) }
        let labels: String = row["labels"]
        let processes: String = row["top_processes"]
        return StoredAlert(
            id: row["id"], fingerprint: row["fingerprint"], rule: row["rule"],
            kind: RuleKind(rawValue: row["kind"]) ?? .threshold, severity: Severity(rawValue: row["severity"]) ?? .warning,
            hostname: row["hostname"], series: row["series"], key: row["key"], status: AlertStatus(rawValue: row["status"]) ?? .resolved,
            value: row["value"], threshold: row["threshold"], summary: row["summary"],
            labels: try Self.alertDecoder.decode([String: String].self, from: Data(labels.utf8)),
            topProcesses: try Self.alertDecoder.decode([ProcessFigure].self, from: Data(processes.utf8)),
            startedAt: date("started_at") ?? Date(timeIntervalSince1970: 0), firedAt: date("fired_at"), resolvedAt: date("resolved_at"),
            acknowledgedBy: row["acknowledged_by"], acknowledgedAt: date("acknowledged_at"), acknowledgeComment: row["acknowledge_comment"],
            notifiedStatus: (row["notified_status"] as String?).flatMap(AlertStatus.init(rawValue:)), lastNotifiedAt: date("last_notified_at")
        )
    }

    static func entry(from row: Row) throws -> OutboxEntry {
        let body: Data = row["body"]
        func date(_ column: String) -> Date? { (row[column] as Double?).map(Date.init(timeIntervalSince1970:)) }
        return OutboxEntry(
            notification: try Self.alertDecoder.decode(AlertNotification.self, from: body),
            state: OutboxEntry.State(rawValue: row["state"]) ?? .pending, attempts: row["attempts"],
            nextAttemptAt: date("next_attempt_at") ?? Date(), lastError: row["last_error"], deliveredAt: date("delivered_at"),
            updatedAt: date("updated_at") ?? Date()
        )
    }
}
