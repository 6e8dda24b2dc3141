import Crypto
import Foundation
import PostgresNIO
import VigilStore

/// Users, sessions and the token-signing secret (tables `users`, `user_sessions`,
/// `refresh_tokens`, `meta`): the ``UserStore`` part. Every server of a cluster signs with the
/// same secret, so a token one issued is good on all.
extension PostgresStore {
    public func tokenSigningSecret() async throws -> [UInt8] {
        let candidate = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        // The first server to ask stores its candidate; everyone reads the stored one.
        try await self.client.query(
            "INSERT INTO meta(key, value) VALUES ('token_signing_secret', \(Data(candidate).base64EncodedString())) ON CONFLICT (key) DO NOTHING",
            logger: self.logger)
        for try await text in try await self.client.query("SELECT value FROM meta WHERE key = 'token_signing_secret'", logger: self.logger)
            .decode(String.self) {
            if let data = Data(base64Encoded: text), data.count >= 32 { return Array(data) }
        }
        // A damaged value: replace it, as the SQLite store does.
        try await self.client.query(
            "UPDATE meta SET value = \(Data(candidate).base64EncodedString()) WHERE key = 'token_signing_secret'", logger: self.logger)
        return candidate
    }

    // MARK: Users

    public func users() async throws -> [UserRecord] {
        try await self.client.query("SELECT * FROM users ORDER BY name", logger: self.logger).rows().map(Self.user(from:))
    }

    public func user(named name: String) async throws -> UserRecord? {
        try await self.client.query("SELECT * FROM users WHERE name = \(name)", logger: self.logger).rows().first.map(Self.user(from:))
    }

    public func userCount() async throws -> Int {
        for try await count in try await self.client.query("SELECT COUNT(*) FROM users", logger: self.logger).decode(Int64.self) {
            return Int(count)
        }
        return 0
    }

    public func createUser(_ user: UserRecord) async throws {
        guard try await self.insert(user, on: nil) else { throw UserStoreError.duplicate(user.name) }
    }

    public func createFirstUser(_ user: UserRecord) async throws -> Bool {
        try await self.transaction { connection in
            // Two servers racing to create the first admin: the table lock makes one wait and see the other's.
            try await connection.query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE", logger: self.logger)
            let count = try await connection.query("SELECT COUNT(*) FROM users", logger: self.logger).rows().first?.value("count", as: Int64.self) ?? 0
            guard count == 0 else { return false }
            return try await self.insert(user, on: connection)
        }
    }

    public func updateUser(named name: String, role: UserRole?, passwordHash: String?, at now: Date) async throws -> UserRecord {
        try await self.transaction { connection in
            try await connection.query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE", logger: self.logger)
            guard let current = try await connection.query("SELECT * FROM users WHERE name = \(name)", logger: self.logger)
                .rows().first.map(Self.user(from:))
            else { throw UserStoreError.notFound(name) }
            if current.role == .admin, let role, role != .admin, try await self.adminCount(on: connection) <= 1 {
                throw UserStoreError.lastAdmin(name)
            }
            var updated = current
            updated.role = role ?? current.role
            updated.passwordHash = passwordHash ?? current.passwordHash
            updated.updatedAt = now
            try await connection.query("""
                UPDATE users SET role = \(updated.role.rawValue), password_hash = \(updated.passwordHash),
                  updated_at = \(now.timeIntervalSince1970) WHERE name = \(name)
                """, logger: self.logger)
            return updated
        }
    }

    public func deleteUser(named name: String, at now: Date) async throws -> [String] {
        try await self.transaction { connection in
            try await connection.query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE", logger: self.logger)
            guard let current = try await connection.query("SELECT * FROM users WHERE name = \(name)", logger: self.logger)
                .rows().first.map(Self.user(from:))
            else { throw UserStoreError.notFound(name) }
            if current.role == .admin, try await self.adminCount(on: connection) <= 1 {
                throw UserStoreError.lastAdmin(name)
            }
            var ended: [String] = []
            for try await id in try await connection.query(
                "SELECT id FROM user_sessions WHERE user_name = \(name) AND ended_at IS NULL AND expires_at > \(now.timeIntervalSince1970)",
                logger: self.logger).decode(String.self) {
                ended.append(id)
            }
            try await connection.query("DELETE FROM users WHERE name = \(name)", logger: self.logger)
            return ended
        }
    }

    // MARK: Sessions

    public func createSession(_ session: UserSession, refreshDigest: [UInt8]) async throws {
        try await self.transaction { connection in
            try await connection.query("""
                INSERT INTO user_sessions(id, user_name, created_at, expires_at, ended_at)
                VALUES (\(session.id), \(session.userName), \(session.createdAt.timeIntervalSince1970),
                        \(session.expiresAt.timeIntervalSince1970), \(session.endedAt?.timeIntervalSince1970))
                """, logger: self.logger)
            try await connection.query("""
                INSERT INTO refresh_tokens(digest, session_id, issued_at)
                VALUES (\(refreshDigest.byteBuffer), \(session.id), \(session.createdAt.timeIntervalSince1970))
                """, logger: self.logger)
        }
    }

    public func rotateRefreshToken(digest: [UInt8], newDigest: [UInt8], newExpiresAt: Date, at now: Date) async throws -> RefreshOutcome {
        try await self.transaction { connection in
            // FOR UPDATE: two servers given the same token at once must not both rotate it.
            guard let token = try await connection.query(
                "SELECT session_id, spent_at FROM refresh_tokens WHERE digest = \(digest.byteBuffer) FOR UPDATE", logger: self.logger)
                .rows().first
            else { return .invalid }
            let sessionID: String = try token.value("session_id")
            guard let row = try await connection.query("SELECT * FROM user_sessions WHERE id = \(sessionID)", logger: self.logger)
                .rows().first
            else { return .invalid }
            var session = try Self.session(from: row)
            guard session.isActive(at: now) else { return .invalid }
            if try token.value("spent_at", as: Double?.self) != nil {
                try await connection.query("UPDATE user_sessions SET ended_at = \(now.timeIntervalSince1970) WHERE id = \(session.id)", logger: self.logger)
                return .reused(sessionID: session.id)
            }
            try await connection.query(
                "UPDATE refresh_tokens SET spent_at = \(now.timeIntervalSince1970) WHERE digest = \(digest.byteBuffer)", logger: self.logger)
            try await connection.query("""
                INSERT INTO refresh_tokens(digest, session_id, issued_at) VALUES (\(newDigest.byteBuffer), \(session.id), \(now.timeIntervalSince1970))
                """, logger: self.logger)
            try await connection.query(
                "UPDATE user_sessions SET expires_at = \(newExpiresAt.timeIntervalSince1970) WHERE id = \(session.id)", logger: self.logger)
            session.expiresAt = newExpiresAt
            return .rotated(session)
        }
    }

    @discardableResult
    public func endSession(id: String, at now: Date) async throws -> Bool {
        let time = now.timeIntervalSince1970
        return try await !self.client.query(
            "UPDATE user_sessions SET ended_at = \(time) WHERE id = \(id) AND ended_at IS NULL AND expires_at > \(time) RETURNING id",
            logger: self.logger).rows().isEmpty
    }

    public func endSessions(userName: String, keeping: String?, at now: Date) async throws -> [String] {
        let time = now.timeIntervalSince1970
        var ids: [String] = []
        for try await id in try await self.client.query("""
            UPDATE user_sessions SET ended_at = \(time)
            WHERE user_name = \(userName) AND ended_at IS NULL AND expires_at > \(time) AND id IS DISTINCT FROM \(keeping)
            RETURNING id
            """, logger: self.logger).decode(String.self) {
            ids.append(id)
        }
        return ids.sorted()
    }

    public func activeSessions(at now: Date) async throws -> [UserSession] {
        try await self.client.query(
            "SELECT * FROM user_sessions WHERE ended_at IS NULL AND expires_at > \(now.timeIntervalSince1970) ORDER BY created_at",
            logger: self.logger).rows().map(Self.session(from:))
    }

    public func pruneSessions(before: Date) async throws {
        let cutoff = before.timeIntervalSince1970
        try await self.client.query(
            "DELETE FROM user_sessions WHERE (ended_at IS NOT NULL AND ended_at < \(cutoff)) OR expires_at < \(cutoff)", logger: self.logger)
    }

    // MARK: Rows

    private func insert(_ user: UserRecord, on connection: PostgresConnection?) async throws -> Bool {
        let query: PostgresQuery = """
            INSERT INTO users(name, role, password_hash, created_at, updated_at)
            VALUES (\(user.name), \(user.role.rawValue), \(user.passwordHash), \(user.createdAt.timeIntervalSince1970), \(user.updatedAt.timeIntervalSince1970))
            ON CONFLICT (name) DO NOTHING RETURNING name
            """
        let rows = if let connection {
            try await connection.query(query, logger: self.logger).rows()
        } else {
            try await self.client.query(query, logger: self.logger).rows()
        }
        return !rows.isEmpty
    }

    private func adminCount(on connection: PostgresConnection) async throws -> Int64 {
        try await connection.query("SELECT COUNT(*) FROM users WHERE role = \(UserRole.admin.rawValue)", logger: self.logger)
            .rows().first?.value("count", as: Int64.self) ?? 0
    }

    static func user(from row: PostgresRandomAccessRow) throws -> UserRecord {
        UserRecord(
            name: try row.value("name"),
            role: UserRole(rawValue: try row.value("role")) ?? .viewer,  // an unknown role gets the least rights
            passwordHash: try row.value("password_hash"),
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at")
        )
    }

    static func session(from row: PostgresRandomAccessRow) throws -> UserSession {
        UserSession(
            id: try row.value("id"), userName: try row.value("user_name"), createdAt: try row.date("created_at"),
            expiresAt: try row.date("expires_at"), endedAt: try row.optionalDate("ended_at")
        )
    }
}
