/// What evaluation needs to know of a host's liveness (the server maps its detector's states).
public enum HostPresence: Sendable, Equatable {
    /// Registered on a new connection. `afterCleanStop` when its previous session ended with a
    /// clean unregister (the agent was restarted).
    case connected(afterCleanStop: Bool)
    /// Heartbeats arrive (HEALTHY, RECOVERED): resolves `host_down`.
    case up
    /// Declared DOWN, with the detector's reason.
    case down(reason: String)
    /// Left cleanly (STOPPED): nothing to alert on, and no samples are expected.
    case stopped
}
