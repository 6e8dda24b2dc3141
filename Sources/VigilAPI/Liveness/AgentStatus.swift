#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A host as the API shows it.
public struct AgentStatus: Sendable, Equatable, Codable {
    public var hostname: String
    public var state: LivenessState
    public var stateSince: Date
    public var lastSeen: Date?
    /// Whether a registered connection is open now.
    public var connected: Bool
    public var address: String?
    public var agentVersion: String?
    /// Phi now, for a connected host: how unusual the current silence is.
    public var phi: Double?
    /// In a cluster, the member holding the host's connection (absent when none does, and on a single server).
    public var member: String?

    public init(hostname: String, state: LivenessState, stateSince: Date, lastSeen: Date?, connected: Bool, address: String?, agentVersion: String?, phi: Double?, member: String? = nil) {
        self.hostname = hostname
        self.state = state
        self.stateSince = stateSince
        self.lastSeen = lastSeen
        self.connected = connected
        self.address = address
        self.agentVersion = agentVersion
        self.phi = phi
        self.member = member
    }

    enum CodingKeys: String, CodingKey {
        case hostname, state, connected, address, phi, member
        case stateSince = "state_since"
        case lastSeen = "last_seen"
        case agentVersion = "agent_version"
    }
}
