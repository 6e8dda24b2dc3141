/// Where a host stands, as the failure detector sees it.
///
/// ```
/// CONNECTED ──heartbeat──► HEALTHY ──silence / connection lost──► SUSPECT ──► DOWN ──return──► RECOVERED ──► HEALTHY
///                              ▲                                     │
///                              └────────────heartbeat────────────────┘      any ──CLIENT_UNREGISTER──► STOPPED
/// ```
public enum LivenessState: String, Codable, Sendable, CaseIterable {
    /// Registered on this connection, no heartbeat yet.
    case connected = "CONNECTED"
    /// Heartbeats arrive as expected.
    case healthy = "HEALTHY"
    /// Heartbeats are late, or the connection dropped and the reconnect grace is running. Not an alert.
    case suspect = "SUSPECT"
    /// The host is considered dead: an alert.
    case down = "DOWN"
    /// Back after DOWN; becomes HEALTHY after a few steady heartbeats.
    case recovered = "RECOVERED"
    /// Left cleanly with `CLIENT_UNREGISTER`. Not an alert.
    case stopped = "STOPPED"

    /// States in which the host is expected to be talking to us.
    public var expectsHeartbeats: Bool {
        switch self {
        case .connected, .healthy, .suspect, .recovered: true
        case .down, .stopped: false
        }
    }
}
