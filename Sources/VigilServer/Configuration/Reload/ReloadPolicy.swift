/// Which configuration keys a reload changes in the running server (hot) and which wait for a
/// restart: the one list, checked against docs/OPERATIONS.md by a test.
///
/// A key is hot only when whatever reads it reads the live value (``LiveSettings``, a reload
/// participant): listing a key here is a promise that a reload takes effect.
public enum ReloadPolicy {
    /// Carries one key's value from the new settings into the running ones.
    typealias Adopt = @Sendable (_ running: inout ServerSettings, _ new: ServerSettings) -> Void

    /// The hot keys, each with how its value is carried over.
    static let hot: [String: Adopt] = [
        // The log handler's shared level (LiveLevelLogHandler).
        "log.level": { $0.logLevel = $1.logLevel },
        // Told to agents at registration and by SESSION_UPDATE; the detector follows per host.
        "heartbeat.interval": { $0.heartbeatInterval = $1.heartbeatInterval },
        "agents.metrics_interval": { $0.metricsInterval = $1.metricsInterval },
        // The failure detector's policy (LivenessTracker.update).
        "liveness.reconnect_grace": { $0.reconnectGraceSetting = $1.reconnectGraceSetting },
        "liveness.silence_margin": { $0.silenceMarginSetting = $1.silenceMarginSetting },
        "liveness.max_missed_heartbeats": { $0.maxMissedHeartbeats = $1.maxMissedHeartbeats },
        "liveness.phi_suspect": { $0.phiSuspectThreshold = $1.phiSuspectThreshold },
        "liveness.phi_down": { $0.phiDownThreshold = $1.phiDownThreshold },
        "liveness.recovery_heartbeats": { $0.recoveryHeartbeats = $1.recoveryHeartbeats },
        // Read per sample by MetricsIngestor.
        "metrics.rate_limit": { $0.metricsRateLimit = $1.metricsRateLimit },
        "metrics.rate_burst": { $0.metricsRateBurst = $1.metricsRateBurst },
        "metrics.backfill_rate_limit": { $0.metricsBackfillRateLimit = $1.metricsBackfillRateLimit },
        "metrics.backfill_rate_burst": { $0.metricsBackfillRateBurst = $1.metricsBackfillRateBurst },
        "metrics.max_pending": { $0.metricsMaxPending = $1.metricsMaxPending },
        "metrics.max_series": { $0.metricsMaxSeries = $1.metricsMaxSeries },
        "metrics.max_series_name_bytes": { $0.metricsMaxSeriesNameBytes = $1.metricsMaxSeriesNameBytes },
        "metrics.max_clock_skew": { $0.metricsMaxClockSkew = $1.metricsMaxClockSkew },
        // Read per request by the HTTP routes.
        "metrics.max_body_size": { $0.maxMetricsBodySize = $1.maxMetricsBodySize },
        "api.max_history_points": { $0.maxHistoryPoints = $1.maxHistoryPoints },
        "api.max_stats_metrics": { $0.maxStatsMetrics = $1.maxStatsMetrics },
        // The alerting file is read again on every reload (AlertService, a reload participant).
        "alerting.file": { $0.alerting.file = $1.alerting.file },
        "alerting.default_rules": { $0.alerting.defaultRules = $1.alerting.defaultRules },
        // The message rate limiter's rate and burst.
        "messages.rate_limit": { $0.messageRateLimit = $1.messageRateLimit },
        "messages.rate_burst": { $0.messageRateBurst = $1.messageRateBurst },
    ]

    /// The keys a reload applies at once; every other key waits for a restart.
    public static var hotKeys: Set<String> { Set(Self.hot.keys) }

    /// The settings to run after a reload: `running` with every hot key taken from `new`.
    ///
    /// Values derived from `heartbeat.interval` that belong to restart-only keys (the idle timeout
    /// every open connection was given, the detector's check interval, the restart grace) stay as
    /// they run now, so the cross-checks of ``ServerSettings/validate()`` judge the new interval
    /// against what is really in force.
    static func running(_ running: ServerSettings, adopting new: ServerSettings) -> ServerSettings {
        var next = running
        next.idleTimeoutSetting = running.idleTimeout
        next.checkIntervalSetting = running.checkInterval
        next.restartGraceSetting = running.restartGrace
        for adopt in Self.hot.values { adopt(&next, new) }
        return next
    }
}
