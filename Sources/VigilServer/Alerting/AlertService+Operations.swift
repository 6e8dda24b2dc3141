import Foundation
import VigilAlerting
import VigilProtocol
import VigilStore

extension AlertService {
    /// An alert as the API shows it: the stored row plus whether people hear of it now.
    public struct AlertView: Sendable, Encodable {
        public var alert: StoredAlert
        public var silenced: Bool
        /// Its host is DOWN (metric alerts are then not notified).
        public var suppressed: Bool

        public func encode(to encoder: any Encoder) throws {
            try self.alert.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.silenced, forKey: .silenced)
            try container.encode(self.suppressed, forKey: .suppressed)
        }

        enum CodingKeys: String, CodingKey { case silenced, suppressed }
    }

    public func view(_ alert: StoredAlert, at now: Date = Date()) -> AlertView {
        AlertView(alert: alert, silenced: self.isSilenced(alert, at: now),
                  suppressed: alert.status != .resolved && self.isHeldByHostDown(alert))
    }

    /// Firing and pending alerts, firing first, most severe first, then oldest first.
    public func activeAlerts() -> [AlertView] {
        let now = Date()
        return self.active.values.sorted {
            ($0.status == .firing ? 0 : 1, $0.severity == .critical ? 0 : 1, $0.id) < ($1.status == .firing ? 0 : 1, $1.severity == .critical ? 0 : 1, $1.id)
        }.map { self.view($0, at: now) }
    }

    public enum OperationError: Error, Sendable, Equatable {
        case notFound(String)
        case invalid(String)
        case readOnly(String)
    }

    /// Records an acknowledgement: no more repeats to people until the alert resolves.
    public func acknowledge(id: Int64, by user: String, comment: String) async throws -> AlertView {
        guard let alert = try await self.store.acknowledge(id: id, by: user, comment: comment, at: Date()) else {
            throw OperationError.notFound("no unresolved alert has id \(id)")
        }
        self.active[alert.fingerprint] = alert
        self.live?.publishAlert(alert)
        self.logger.notice("audit", metadata: ["user": "\(user)", "action": "acknowledge_alert", "alert": "\(id)", "rule": "\(alert.rule)", "host": "\(alert.hostname.logEscaped)"])
        return self.view(alert)
    }

    // MARK: Silences

    public func listSilences() -> [Silence] { self.silences.sorted { $0.endsAt > $1.endsAt } }

    public func createSilence(_ silence: Silence) async throws -> Silence {
        do { try silence.validate() } catch { throw OperationError.invalid(error.description) }
        try await self.store.saveSilence(silence)
        self.silences.removeAll { $0.id == silence.id }
        self.silences.append(silence)
        self.logger.notice("audit", metadata: ["user": "\(silence.createdBy)", "action": "create_silence", "silence": "\(silence.id)",
                                               "matchers": "\(silence.matchers.map(\.description).joined(separator: ",").logEscaped)", "ends_at": "\(silence.endsAt)"])
        return silence
    }

    /// Ends a silence now; alerts it held that still fire are announced at the next tick.
    public func expireSilence(id: String, by user: String) async throws -> Silence {
        guard let silence = try await self.store.expireSilence(id: id, at: Date()) else {
            throw OperationError.notFound("no silence has id \(id.prefix(64))")
        }
        self.silences.removeAll { $0.id == id }
        self.silences.append(silence)
        self.logger.notice("audit", metadata: ["user": "\(user)", "action": "expire_silence", "silence": "\(id)"])
        return silence
    }

    // MARK: Rules

    /// Adds or replaces a rule of the API (admins). Rules of the configuration file are changed there.
    public func saveRule(_ input: AlertRule, by user: String) async throws -> AlertRule {
        var rule = input
        rule.origin = .api
        if self.file.rules.contains(where: { $0.name == rule.name }) || (self.settings.defaultRules && AlertRule.defaults.contains { $0.name == rule.name } && self.rules.rule(named: rule.name)?.origin == .configuration) {
            throw OperationError.readOnly("rule \(rule.name) comes from the configuration; change it in the alerting file (\(self.settings.file ?? "alerting.file")) and reload")
        }
        var stored = try await self.store.storedRules().filter { $0.name != rule.name }
        stored.append(rule)
        do {
            _ = try RuleSet(configured: self.file.rules, stored: stored, includeDefaults: self.settings.defaultRules)
        } catch {
            throw OperationError.invalid(error.description)
        }
        try await self.store.saveRule(rule, by: user, at: Date())
        do { try self.refreshRules(stored: stored) } catch { throw OperationError.invalid("\(error)") }
        self.logger.notice("audit", metadata: ["user": "\(user)", "action": "save_rule", "rule": "\(rule.name)"])
        return rule
    }

    public func deleteRule(named name: String, by user: String) async throws {
        if self.rules.rule(named: name)?.origin == .configuration {
            throw OperationError.readOnly("rule \(name) comes from the configuration; remove it from the alerting file or set enabled: false, then reload")
        }
        guard try await self.store.deleteRule(named: name) else { throw OperationError.notFound("no rule is named \(name.prefix(128))") }
        do { try self.refreshRules(stored: try await self.store.storedRules()) } catch { throw OperationError.invalid("\(error)") }
        self.logger.notice("audit", metadata: ["user": "\(user)", "action": "delete_rule", "rule": "\(name)"])
    }
}
