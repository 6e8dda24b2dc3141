/// What is left to do once a connection has closed.
struct SessionTeardown: Equatable, Sendable {
    /// The connection was counted in (`agents.max_connections`) and must be counted out.
    var releasesConnection: Bool
    /// The agent whose liveness tracker must hear that its connection was lost; `nil` when none
    /// registered, when a person's tool registered, or when the agent said goodbye (unregistered).
    var lostAgent: RegisteredClient?
    /// Why the connection closed, for the tracker and the log.
    var cause: String
}
