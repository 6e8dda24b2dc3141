#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Users, their sessions and the token-signing secret, behind a backend-neutral protocol.
///
/// Refresh tokens are kept only as SHA-256 digests (they are 256-bit random strings: nothing to
/// brute-force, so no bcrypt). Checks that must hold across concurrent requests (one refresh token
/// spent once, never removing the last admin) are made inside one transaction.
public protocol UserStore: Sendable {
    /// The HMAC secret that signs access tokens: 32 random bytes, created on first use and kept,
    /// so every server sharing the database accepts the same tokens.
    func tokenSigningSecret() async throws -> [UInt8]

    // MARK: Users

    /// Every user, sorted by name.
    func users() async throws -> [UserRecord]
    /// The user with this name, or `nil`.
    func user(named name: String) async throws -> UserRecord?
    /// How many users exist.
    func userCount() async throws -> Int
    /// Adds a user. Throws ``UserStoreError/duplicate(_:)`` when the name is taken.
    func createUser(_ user: UserRecord) async throws
    /// Adds `user` only when no user exists at all (the first admin; atomic, so two servers starting
    /// on one database create one). Returns whether it was added.
    func createFirstUser(_ user: UserRecord) async throws -> Bool
    /// Changes a user's role and/or password hash. Throws ``UserStoreError/notFound(_:)``, or
    /// ``UserStoreError/lastAdmin(_:)`` when demoting the only admin.
    @discardableResult
    func updateUser(named name: String, role: UserRole?, passwordHash: String?, at now: Date) async throws -> UserRecord
    /// Removes a user and ends their sessions; returns the ids of the sessions ended. Throws
    /// ``UserStoreError/notFound(_:)`` or ``UserStoreError/lastAdmin(_:)``.
    func deleteUser(named name: String, at now: Date) async throws -> [String]

    // MARK: Sessions

    /// Starts a session with its first refresh token (by digest).
    func createSession(_ session: UserSession, refreshDigest: [UInt8]) async throws
    /// Spends a refresh token and stores its replacement, atomically; a spent token presented again
    /// ends its session. The session's expiry moves to `newExpiresAt`.
    func rotateRefreshToken(digest: [UInt8], newDigest: [UInt8], newExpiresAt: Date, at now: Date) async throws -> RefreshOutcome
    /// Ends a session. Returns whether it was active.
    @discardableResult
    func endSession(id: String, at now: Date) async throws -> Bool
    /// Ends a user's sessions except `keeping`; returns the ids ended.
    func endSessions(userName: String, keeping: String?, at now: Date) async throws -> [String]
    /// Sessions neither ended nor expired at `now`.
    func activeSessions(at now: Date) async throws -> [UserSession]
    /// Deletes sessions (and their spent tokens) that ended or expired before `before`.
    func pruneSessions(before: Date) async throws
}
