#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An agent key as stored: its public id and its host, never its secret.
public struct AgentKey: Sendable, Equatable, Codable {
    /// The public part of the token (`vk_<id>_…`), safe to show and log.
    public var id: String
    /// The host this key proves. The key decides the host identity.
    public var hostname: String
    public var createdAt: Date
    public var revokedAt: Date?
    public var lastUsedAt: Date?

    public var isRevoked: Bool { self.revokedAt != nil }

    enum CodingKeys: String, CodingKey {
        case id, hostname
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
        case lastUsedAt = "last_used_at"
    }

    public init(id: String, hostname: String, createdAt: Date, revokedAt: Date? = nil, lastUsedAt: Date? = nil) {
        self.id = id
        self.hostname = hostname
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
    }
}

/// A freshly created key: the only moment its full token exists outside the agent.
public struct IssuedAgentKey: Sendable {
    public var key: AgentKey
    /// The whole token, `vk_<id>_<secret>`. Show it once; it is not stored.
    public var token: String

    public init(key: AgentKey, token: String) {
        self.key = key
        self.token = token
    }
}

/// The outcome of checking a presented token.
public enum KeyVerification: Sendable, Equatable {
    case valid(AgentKey)
    case revoked(AgentKey)
    /// Well-formed, but no key with that id and secret exists.
    case unknown
    /// Not of the form `vk_<id>_<secret>`.
    case malformed
}
