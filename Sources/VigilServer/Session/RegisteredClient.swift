import VigilProtocol

/// Who a registered connection is, as the session's state machine keeps it.
struct RegisteredClient: Equatable, Sendable {
    /// The client id: a host's name for agents, a person's name for `kind == .user`.
    var clientID: String
    var kind: ClientKind
    var connectionID: UInt64
    /// The id of the agent key it registered with; `nil` without a key (open enrollment, a
    /// version-0 client admitted by `agents.legacy_clients`). Revoking that key ends the session.
    var keyID: String?
    /// Registered as protocol version 0 (PROTOCOL.md §13): a client without heartbeats.
    var isLegacy: Bool

    /// Only hosts have liveness; a person's tool is present while connected and never DOWN.
    var hasLiveness: Bool { self.kind == .agent }
}
