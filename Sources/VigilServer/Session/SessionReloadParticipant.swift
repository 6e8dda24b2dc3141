import Logging
import NIOCore
import Synchronization

/// Carries a reload to connected agents and to the failure detector: a new heartbeat or metrics
/// interval is sent to every session that can take it (`SESSION_UPDATE`), and the tracker judges
/// each host by the interval it now keeps (``LivenessTracker/update(settings:now:)``).
final class SessionReloadParticipant: ReloadParticipant {
    let sessions: RegisteredSessions
    let tracker: LivenessTracker
    let logger: Logger
    /// The intervals sessions were last told.
    let told: Mutex<(heartbeat: Duration, metrics: Duration?)>

    init(sessions: RegisteredSessions, tracker: LivenessTracker, settings: ServerSettings, logger: Logger) {
        self.sessions = sessions
        self.tracker = tracker
        self.logger = logger
        self.told = Mutex((settings.heartbeatInterval, settings.metricsInterval))
    }

    var name: String { "sessions" }

    func check(_ new: ServerSettings) async throws {}

    func apply(_ new: ServerSettings) async {
        let changed = self.told.withLock { told in
            defer { told = (new.heartbeatInterval, new.metricsInterval) }
            return told.heartbeat != new.heartbeatInterval || told.metrics != new.metricsInterval
        }
        if changed {
            let count = self.sessions.sendUpdate(new)
            self.logger.info("sent the new session parameters to connected agents", metadata: [
                "sessions": "\(count)", "heartbeat_interval": "\(new.heartbeatInterval.compactDescription)",
                "metrics_interval": "\(new.metricsInterval?.compactDescription ?? "agent's own")",
            ])
        }
        self.tracker.update(settings: new, now: .now())
    }
}
