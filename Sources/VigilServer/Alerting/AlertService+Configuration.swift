import Foundation
import VigilAlerting
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
        await self.apply(prepared)
    }

    /// Checks the alerting file of `newSettings` without putting anything in force (phase one of a reload).
    public func check(settings newSettings: AlertingSettings) async throws {
        let prepared = try await Self.prepare(settings: newSettings, store: self.store, factory: self.factory)
        for channel in prepared.channels { await channel.shutdown() }
    }

    func apply(_ prepared: Prepared) async {
        self.file = prepared.file
        self.rules = prepared.rules
        self.routing = prepared.routing
        self.evaluation.replace(rules: prepared.rules, at: Date())
        var kept: [String: ChannelWorker] = [:]
        var kinds: [String: String] = [:]
        for channel in prepared.channels {
            kinds[channel.name] = channel.kind
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
