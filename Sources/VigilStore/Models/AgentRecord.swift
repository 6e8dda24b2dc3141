#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the server remembers about a host between restarts.
public struct AgentRecord: Sendable, Equatable, Codable {
    /// The host's identity: the host name its key is bound to.
    public var hostname: String
    public var state: LivenessState
    /// When ``state`` was entered.
    public var stateSince: Date
    public var firstSeen: Date
    /// The last frame received from the host (flushed from memory periodically, see `liveness.persist_interval`).
    public var lastSeen: Date?
    public var agentVersion: String?
    public var protocolVersion: Int?
    public var capabilities: [String]
    /// The peer address of the last connection, `ip:port`.
    public var address: String?

    public init(hostname: String, state: LivenessState, stateSince: Date, firstSeen: Date, lastSeen: Date?, agentVersion: String?, protocolVersion: Int?, capabilities: [String], address: String?) {
        self.hostname = hostname
        self.state = state
        self.stateSince = stateSince
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.agentVersion = agentVersion
        self.protocolVersion = protocolVersion
        self.capabilities = capabilities
        self.address = address
    }
}
