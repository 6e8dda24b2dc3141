#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import GRDB

// `UserStore` conformance comes with `VigilStore` (declared where the class is).
extension SQLiteStore {
    public func tokenSigningSecret() async throws -> [UInt8] {
        try await self.pool.write { db in
            if let text = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'token_signing_secret'"),
               let data = Data(base64Encoded: text), data.count >= 32 {
                return Array(data)
            }
            let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
            try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('token_signing_secret', ?)",
                           arguments: [Data(secret).base64EncodedString()])
            return secret
        }
    }

    // MARK: Users

    public func users() async throws -> [UserRecord] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY name").map(Self.user(from:))
        }
    }

    public func user(named name: String) async throws -> UserRecord? {
        try await self.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM users WHERE name = ?", arguments: [name]).map(Self.user(from:))
        }
    }

    public func userCount() async throws -> Int {
        try await self.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0 }
    }

    public func createUser(_ user: UserRecord) async throws {
        try await self.pool.write { db in
            guard try Self.insert(user, in: db) else { throw UserStoreError.duplicate(user.name) }
        }
    }

    public func createFirstUser(_ user: UserRecord) async throws -> Bool {
        try await self.pool.write { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") == 0 else { return false }
            return try Self.insert(user, in: db)
        }
    }

    public func updateUser(named name: String, role: UserRole?, passwordHash: String?, at now: Date) async throws -> UserRecord {
        try await self.pool.write { db in
            guard let current = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE name = ?", arguments: [name]).map(Self.user(from:)) else {
                throw UserStoreError.notFound(name)
            }
            if current.role == .admin, let role, role != .admin, try Self.adminCount(db) <= 1 {
                throw UserStoreError.lastAdmin(name)
            }
            var updated = current
            updated.role = role ?? current.role
            updated.passwordHash = passwordHash ?? current.passwordHash
            updated.updatedAt = now
            try db.execute(sql: "UPDATE users SET role = ?, password_hash = ?, updated_at = ? WHERE name = ?",
                           arguments: [updated.role.rawValue, updated.passwordHash, now.timeIntervalSince1970, name])
            return updated
        }
    }

    public func deleteUser(named name: String, at now: Date) async throws -> [String] {
        try await self.pool.write { db in
            guard let current = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE name = ?", arguments: [name]).map(Self.user(from:)) else {
                throw UserStoreError.notFound(name)
            }
            if current.role == .admin, try Self.adminCount(db) <= 1 {
                throw UserStoreError.lastAdmin(name)
            }
            let ended = try String.fetchAll(db, sql: "SELECT id FROM user_sessions WHERE user_name = ? AND ended_at IS NULL AND expires_at > ?",
                                            arguments: [name, now.timeIntervalSince1970])
            // Sessions and their tokens go with the user (ON DELETE CASCADE).
            try db.execute(sql: "DELETE FROM users WHERE name = ?", arguments: [name])
            return ended
        }
    }

    // MARK: Sessions

    public func createSession(_ session: UserSession, refreshDigest: [UInt8]) async throws {
        try await self.pool.write { db in
            try db.execute(
                sql: "INSERT INTO user_sessions(id, user_name, created_at, expires_at, ended_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [session.id, session.userName, session.createdAt.timeIntervalSince1970,
                            session.expiresAt.timeIntervalSince1970, session.endedAt?.timeIntervalSince1970]
            )
            try db.execute(sql: "INSERT INTO refresh_tokens(digest, session_id, issued_at) VALUES (?, ?, ?)",
                           arguments: [Data(refreshDigest), session.id, session.createdAt.timeIntervalSince1970])
        }
    }

    public func rotateRefreshToken(digest: [UInt8], newDigest: [UInt8], newExpiresAt: Date, at now: Date) async throws -> RefreshOutcome {
        try await self.pool.write { db in
            // Lookup by the digest (the primary key): the digest of a random 256-bit token is not
            // guessable, so an indexed equality lookup reveals nothing through its timing.
            guard let token = try Row.fetchOne(db, sql: "SELECT session_id, spent_at FROM refresh_tokens WHERE digest = ?", arguments: [Data(digest)]),
                  let row = try Row.fetchOne(db, sql: "SELECT * FROM user_sessions WHERE id = ?", arguments: [token["session_id"] as String])
            else { return .invalid }
            var session = Self.session(from: row)
            guard session.isActive(at: now) else { return .invalid }
            if (token["spent_at"] as Double?) != nil {
                try db.execute(sql: "UPDATE user_sessions SET ended_at = ? WHERE id = ?", arguments: [now.timeIntervalSince1970, session.id])
                return .reused(sessionID: session.id)
            }
            try db.execute(sql: "UPDATE refresh_tokens SET spent_at = ? WHERE digest = ?", arguments: [now.timeIntervalSince1970, Data(digest)])
            try db.execute(sql: "INSERT INTO refresh_tokens(digest, session_id, issued_at) VALUES (?, ?, ?)",
                           arguments: [Data(newDigest), session.id, now.timeIntervalSince1970])
            try db.execute(sql: "UPDATE user_sessions SET expires_at = ? WHERE id = ?", arguments: [newExpiresAt.timeIntervalSince1970, session.id])
            session.expiresAt = newExpiresAt
            return .rotated(session)
        }
    }

    @discardableResult
    public func endSession(id: String, at now: Date) async throws -> Bool {
        try await self.pool.write { db in
            try db.execute(sql: "UPDATE user_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL AND expires_at > ?",
                           arguments: [now.timeIntervalSince1970, id, now.timeIntervalSince1970])
            return db.changesCount > 0
        }
    }

    public func endSessions(userName: String, keeping: String?, at now: Date) async throws -> [String] {
        try await self.pool.write { db in
            let ids = try String.fetchAll(
                db, sql: "SELECT id FROM user_sessions WHERE user_name = ? AND ended_at IS NULL AND expires_at > ? AND id IS NOT ?",
                arguments: [userName, now.timeIntervalSince1970, keeping]
            )
            for id in ids {
                try db.execute(sql: "UPDATE user_sessions SET ended_at = ? WHERE id = ?", arguments: [now.timeIntervalSince1970, id])
            }
            return ids
        }
    }

    public func activeSessions(at now: Date) async throws -> [UserSession] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM user_sessions WHERE ended_at IS NULL AND expires_at > ? ORDER BY created_at",
                             arguments: [now.timeIntervalSince1970]).map(Self.session(from:))
        }
    }

    public func pruneSessions(before: Date) async throws {
        try await self.pool.write { db in
            let cutoff = before.timeIntervalSince1970
            try db.execute(sql: "DELETE FROM user_sessions WHERE (ended_at IS NOT NULL AND ended_at < ?) OR expires_at < ?",
                           arguments: [cutoff, cutoff])
        }
    }
}

// MARK: Row mapping

extension SQLiteStore {
    /// Inserts a user; `false` when the name is taken.
    static func insert(_ user: UserRecord, in db: Database) throws -> Bool {
        try db.execute(
            sql: "INSERT INTO users(name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO NOTHING",
            arguments: [user.name, user.role.rawValue, user.passwordHash, user.createdAt.timeIntervalSince1970, user.updatedAt.timeIntervalSince1970]
        )
        return db.changesCount > 0
    }

    static func adminCount(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users WHERE role = ?", arguments: [UserRole.admin.rawValue]) ?? 0
    }

    static func user(from row: Row) -> UserRecord {
        UserRecord(
            name: row["name"],
            // An unknown role (written by a newer version) gets the least rights.
            role: UserRole(rawValue: row["role"]) ?? .viewer,
            passwordHash: row["password_hash"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            updatedAt: Date(timeIntervalSince1970: row["updated_at"])
        )
    }

    static func session(from row: Row) -> UserSession {
        UserSession(
            id: row["id"], userName: row["user_name"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            expiresAt: Date(timeIntervalSince1970: row["expires_at"]),
            endedAt: (row["ended_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        )
    }
}
