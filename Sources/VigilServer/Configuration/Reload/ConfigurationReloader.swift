import Foundation
import Logging
import VigilProtocol

/// Reads the whole configuration again, the way the server's was read at start, and puts it in
/// force atomically: the hot keys (``ReloadPolicy``) change at once through ``LiveSettings`` and
/// the registered ``ReloadParticipant``s, the restart-only ones are reported and wait for a restart.
///
/// A configuration that does not load (a YAML syntax error, a bad value, a failed cross-check), or
/// that a participant refuses in its check, changes nothing: the error is logged, returned, and
/// recorded like every outcome (``history``, and the status file for `vigil reload`).
/// Reloads run one at a time, in the order asked.
public actor ConfigurationReloader {
    /// How the running configuration was loaded; `nil` for a server built from settings alone.
    private let started: LoadedConfiguration?
    /// The last configuration put in force (its hot values run now).
    private var current: LoadedConfiguration?
    public nonisolated let live: LiveSettings
    private var participants: [any ReloadParticipant] = []
    private var outcomes: [ReloadOutcome] = []
    private let historyLimit: Int
    private var generation: Int
    private let statusFile: String?
    private let logger: Logger
    /// The reload under way, which the next one waits for.
    private var tail: Task<Void, Never>?

    /// - Parameters:
    ///   - configuration: How the settings in `live` were loaded; without it every reload fails
    ///     (there is nothing to read again).
    ///   - live: The settings in force, replaced by each successful reload.
    ///   - statusFile: Where each outcome is written for `vigil reload` (in the data directory).
    public init(configuration: LoadedConfiguration?, live: LiveSettings, statusFile: String?, logger: Logger) {
        self.started = configuration
        self.current = configuration
        self.live = live
        self.statusFile = statusFile
        self.historyLimit = max(1, live.current.reloadHistory)
        // Generations go on across restarts, so `vigil reload` never takes an old answer for its own.
        self.generation = statusFile.flatMap(ReloadStatusFile.read(from:))?.generation ?? 0
        self.logger = logger
    }

    /// Adds a participant: its check and apply run on every reload from now on, after those
    /// registered before it.
    public func register(_ participant: any ReloadParticipant) {
        self.participants.append(participant)
    }

    /// The last reload outcomes, newest first (at most `reload.history`).
    public var history: [ReloadOutcome] { self.outcomes.reversed() }

    /// Reloads the configuration; returns what happened (never throws: a failure is an outcome).
    @discardableResult
    public func reload(trigger: ReloadTrigger) async -> ReloadOutcome {
        let previous = self.tail
        let task = Task { [trigger] in
            await previous?.value
            return await self.perform(trigger)
        }
        self.tail = Task { _ = await task.value }
        return await task.value
    }

    private func perform(_ trigger: ReloadTrigger) async -> ReloadOutcome {
        self.generation += 1
        let generation = self.generation
        do {
            let (changed, restartRequired) = try await self.reloadOrThrow()
            return self.record(ReloadOutcome(generation: generation, at: Date(), trigger: trigger, success: true, changed: changed, restartRequired: restartRequired))
        } catch {
            return self.record(ReloadOutcome(generation: generation, at: Date(), trigger: trigger, success: false, error: "\(error)"))
        }
    }

    /// Loads, checks and applies; throws the precise reason when nothing was changed.
    private func reloadOrThrow() async throws -> (changed: [String], restartRequired: [String]) {
        guard let started = self.started, let current = self.current else {
            throw ConfigurationError(description: "this server was not started from a configuration (file, environment, flags) it can read again")
        }
        let loaded = try await started.source.load()
        let hot = ReloadPolicy.hotKeys
        let changed = loaded.keysDiffering(from: current).filter { hot.contains($0) }
        // Against the values the server started with: a restart-only change stays pending until a restart.
        let restartRequired = loaded.keysDiffering(from: started).filter { !hot.contains($0) }
        let next = ReloadPolicy.running(self.live.current, adopting: loaded.settings)
        do {
            try next.validate()
        } catch {
            throw ConfigurationError(description: "\(error) (with the restart-only values still in force; restart the server to apply this configuration)")
        }
        // Phase 1: every participant may refuse; nothing has changed yet.
        for participant in self.participants {
            do {
                try await participant.check(next)
            } catch {
                throw ConfigurationError(description: "\(participant.name): \(error)")
            }
        }
        // Phase 2: all apply.
        self.live.replace(with: next)
        for participant in self.participants {
            await participant.apply(next)
        }
        self.current = loaded
        return (changed, restartRequired)
    }

    private func record(_ outcome: ReloadOutcome) -> ReloadOutcome {
        self.outcomes.append(outcome)
        if self.outcomes.count > self.historyLimit { self.outcomes.removeFirst(self.outcomes.count - self.historyLimit) }
        var metadata: Logger.Metadata = ["generation": "\(outcome.generation)", "trigger": "\(outcome.trigger)"]
        if let user = outcome.user { metadata["user"] = "\(user.logEscaped)" }
        if outcome.success {
            metadata["changed"] = "\(outcome.changed.joined(separator: ","))"
            metadata["restart_required"] = "\(outcome.restartRequired.joined(separator: ","))"
            self.logger.info("configuration reloaded", metadata: metadata)
            for key in outcome.restartRequired {
                self.logger.notice("\(key) changes at the next restart; the running value stays until then")
            }
        } else {
            metadata["error"] = "\(outcome.error ?? "")"
            self.logger.error("configuration reload failed; the previous configuration stays in force", metadata: metadata)
        }
        if let statusFile = self.statusFile {
            do {
                try ReloadStatusFile.write(outcome, to: statusFile)
            } catch {
                self.logger.warning("could not write the reload status file", metadata: ["path": "\(statusFile)", "error": "\(error)"])
            }
        }
        return outcome
    }
}
