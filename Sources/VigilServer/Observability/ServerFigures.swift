import VigilProtocol

/// Counts kept by other parts of the server (each where it is cheapest to keep), read at scrape
/// time into ``ServerMetrics``' gauges.
struct ServerFigures: Sendable {
    /// Agent-port connections open (admitted, registered or not).
    var agentConnections = 0
    /// Registered agent-port sessions by client kind.
    var registeredSessions: [ClientKind: Int] = [:]
    var httpConnections = 0
    var streamClients = 0
    var ingestQueueDepth = 0
}
