import Foundation
import VigilAlerting
import VigilNotify
import VigilStore

extension AlertService {
    /// A checked configuration, ready to put in force.
    struct Prepared: @unchecked Sendable {  // channels are Sendable; the array of existentials is built once and handed over
        var file: AlertingFile
        var rules: RuleSet
        var routing: RoutingTable
        var channels: [any NotificationChannel]
    }

    /// Reads the alerting file and checks everything in it against the stored rules: rules,
    /// channel settings (made into channels), routes naming existing channels.
    static func prepare(settings: AlertingSettings, store: any AlertStore, factory: (any NotificationChannelFactory)?) async throws -> Prepared {
        let file = try AlertingFile.load(path: settings.file)
        let rules: RuleSet
        do {
            rules = try RuleSet(configured: file.rules, stored: try await store.storedRules(), includeDefaults: settings.defaultRules)
        } catch let error as RuleValidationError {
            throw AlertingConfigurationError("\(settings.file ?? "alerting"): \(error)")
        }
        var channels: [any NotificationChannel] = []
        let declared = (try? JSONSerialization.jsonObject(with: file.channels) as? [Any])?.count ?? 0
        if declared > 0 {
            guard let factory else { throw AlertingConfigurationError("\(settings.file ?? "alerting"): channels are configured but this server has no channel support") }
            do {
                channels = try factory.makeChannels(from: file.channels)
            } catch {
                throw AlertingConfigurationError("\(settings.file ?? "alerting"): channels: \(error)")
            }
        }
        let names = channels.map(\.name)
        guard Set(names).count == names.count else { throw AlertingConfigurationError("\(settings.file ?? "alerting"): two channels have the same name") }
        let routing: RoutingTable
        do {
            routing = try RoutingTable(routes: file.routes, channels: names)
        } catch {
            for channel in channels { await channel.shutdown() }
            throw AlertingConfigurationError("\(settings.file ?? "alerting"): routes: \(error)")
        }
        return Prepared(file: file, rules: rules, routing: routing, channels: channels)
    }

    /// Reads the alerting file again and, when all of it is valid, puts it in force: rules (alerts
    /// of changed or removed rules resolve), channels (same name: the new settings take over the
    /// queue), routes. When anything is invalid, nothing changes and the error is thrown.
    public func reload(settings newSettings: AlertingSettings) async throws {
        let prepared = try await Self.prepare(settings: newSettings, store: self.store, factory: self.factory)
        await self.apply(prepared, settings: newSettings)
    }

    /// Phase one of a reload: reads and checks the alerting file of `new`, and keeps what it made
    /// for ``apply(_:)`` (phase two). A configuration another participant refused is dropped at the next check.
    public func check(_ new: ServerSettings) async throws {
        if let stale = self.checked {
            self.checked = nil
            for channel in stale.prepared.channels { await channel.shutdown() }
        }
        do {
            self.checked = (new.alerting, try await Self.prepare(settings: new.alerting, store: self.store, factory: self.factory))
        } catch {
            throw AlertingConfigurationError("\(error)")
        }
    }

    /// Phase two of a reload: puts in force what ``check(_:)`` read.
    public func apply(_ new: ServerSettings) async {
        guard let checked = self.checked, checked.settings == new.alerting else {
            do { try await self.reload(settings: new.alerting) } catch {
                self.logger.error("alerting configuration not applied", metadata: ["error": "\(error)"])
            }
            return
        }
        self.checked = nil
        await self.apply(checked.prepared, settings: checked.settings)
    }

    func apply(_ prepared: Prepared, settings newSettings: AlertingSettings) async {
        self.settings.file = newSettings.file
        self.settings.defaultRules = newSettings.defaultRules
        self.file = prepared.file
        self.rules = prepared.rules
        self.routing = prepared.routing
        self.evaluation.replace(rules: prepared.rules, at: Date())
        var kept: [String: ChannelWorker] = [:]
        var kinds: [String: String] = [:]
        var resends: [String: Duration] = [:]
        for channel in prepared.channels {
            kinds[channel.name] = channel.kind
            if let resending = channel as? AlertmanagerChannel { resends[channel.name] = resending.resendInterval }
            if let worker = self.workers.removeValue(forKey: channel.name) {
                await worker.replace(channel)
                kept[channel.name] = worker
            } else {
                kept[channel.name] = self.makeWorker(channel)
            }
        }
        for (name, worker) in self.workers {
            await worker.stop()
            self.logger.notice("notification channel removed", metadata: ["channel": "\(name)"])
        }
        self.workers = kept
        self.channelKinds = kinds
        self.resendIntervals = resends
        self.logger.notice("alerting configuration in force", metadata: [
            "rules": "\(self.rules.enabled.count)", "channels": "\(kept.count)", "routes": "\(self.routing.routes.count)",
        ])
    }

    /// Puts the stored (API) rules in force after one changed.
    func refreshRules(stored: [AlertRule]) throws(RuleValidationError) {
        let rules = try RuleSet(configured: self.file.rules, stored: stored, includeDefaults: self.settings.defaultRules)
        self.rules = rules
        self.evaluation.replace(rules: rules, at: Date())
    }

    /// The channels in force, for the API (names and kinds only: settings hold secrets).
    public var channels: [(name: String, kind: String)] {
        self.channelKinds.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
