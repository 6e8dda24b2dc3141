/// The failure detector's numbers, resolved from ``ServerSettings`` into seconds.
public struct LivenessPolicy: Sendable, Equatable {
    public var interval: Double
    public var reconnectGrace: Double
    public var restartGrace: Double
    /// Silence is never DOWN before this (interval + margin).
    public var downFloor: Double
    /// Silence is always DOWN by this (max missed heartbeats × interval).
    public var downCeiling: Double
    public var phiSuspect: Double
    public var phiDown: Double
    public var recoveryHeartbeats: Int

    public init(settings: ServerSettings) {
        self.interval = settings.heartbeatInterval.seconds
        self.reconnectGrace = settings.reconnectGrace.seconds
        self.restartGrace = settings.restartGrace.seconds
        self.downFloor = (settings.heartbeatInterval + settings.silenceMargin).seconds
        self.downCeiling = settings.heartbeatInterval.seconds * settings.maxMissedHeartbeats
        self.phiSuspect = settings.phiSuspectThreshold
        self.phiDown = settings.phiDownThreshold
        self.recoveryHeartbeats = settings.recoveryHeartbeats
    }

    /// The policy of `settings` for a host that keeps another heartbeat interval (one registered
    /// before a reload changed the interval and that cannot be told: the defaults derived from the
    /// interval follow the host's own).
    public init(settings: ServerSettings, interval seconds: Double) {
        var settings = settings
        settings.heartbeatInterval = .nanoseconds(Int64(seconds * 1e9))
        self.init(settings: settings)
    }
}
