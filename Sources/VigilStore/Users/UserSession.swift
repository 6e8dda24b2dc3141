#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A sign-in: one family of refresh tokens, each replacing the one before. Access tokens name it
/// (`sid`), so ending it ends them all.
public struct UserSession: Sendable, Equatable {
    /// A random id, public (it is in every access token).
    public var id: String
    /// The user it belongs to.
    public var userName: String
    public var createdAt: Date
    /// When the current refresh token expires; the session ends then unless refreshed.
    public var expiresAt: Date
    /// When it was ended (sign-out, password change, user removed, refresh token reused).
    public var endedAt: Date?

    public init(id: String, userName: String, createdAt: Date, expiresAt: Date, endedAt: Date? = nil) {
        self.id = id
        self.userName = userName
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.endedAt = endedAt
    }

    /// Whether the session can still be used at `now`.
    public func isActive(at now: Date) -> Bool { self.endedAt == nil && now < self.expiresAt }
}
