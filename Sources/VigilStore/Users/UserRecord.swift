#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A person who may sign in to the HTTP API, as stored.
public struct UserRecord: Sendable, Equatable {
    /// The sign-in name (unique).
    public var name: String
    public var role: UserRole
    /// The bcrypt hash of the password (`$2b$…`); never the password.
    public var passwordHash: String
    public var createdAt: Date
    /// When the role or the password last changed.
    public var updatedAt: Date

    public init(name: String, role: UserRole, passwordHash: String, createdAt: Date, updatedAt: Date) {
        self.name = name
        self.role = role
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
