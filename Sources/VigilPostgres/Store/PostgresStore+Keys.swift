import Foundation
import PostgresNIO
import VigilStore

/// Agent keys (table `agent_keys`): only the SHA-256 of a key's secret is stored.
extension PostgresStore {
    public func createKey(hostname: String) async throws -> IssuedAgentKey {
        let token = AgentKeyToken.generate()
        let key = AgentKey(id: token.id, hostname: hostname, createdAt: Date())
        try await self.client.query("""
            INSERT INTO agent_keys(id, hostname, secret_digest, created_at)
            VALUES (\(key.id), \(key.hostname), \(token.secretDigest.byteBuffer), \(key.createdAt.timeIntervalSince1970))
            """, logger: self.logger)
        return IssuedAgentKey(key: key, token: token.text)
    }

    public func listKeys() async throws -> [AgentKey] {
        try await self.client.query("SELECT * FROM agent_keys ORDER BY created_at DESC, id", logger: self.logger)
            .rows().map(Self.key(from:))
    }

    public func revokeKey(id: String) async throws -> AgentKey? {
        try await self.client.query(
            "UPDATE agent_keys SET revoked_at = \(Date().timeIntervalSince1970) WHERE id = \(id) AND revoked_at IS NULL",
            logger: self.logger)
        return try await self.client.query("SELECT * FROM agent_keys WHERE id = \(id)", logger: self.logger)
            .rows().first.map(Self.key(from:))
    }

    public func keysRevoked(since: Date) async throws -> [AgentKey] {
        try await self.client.query(
            "SELECT * FROM agent_keys WHERE revoked_at > \(since.timeIntervalSince1970) ORDER BY revoked_at", logger: self.logger)
            .rows().map(Self.key(from:))
    }

    public func verifyKey(_ text: String) async throws -> KeyVerification {
        guard let token = AgentKeyToken(text) else { return .malformed }
        guard let row = try await self.client.query("SELECT * FROM agent_keys WHERE id = \(token.id)", logger: self.logger).rows().first
        else { return .unknown }
        let key = try Self.key(from: row)
        guard AgentKeyToken.constantTimeEquals(try row.bytes("secret_digest"), token.secretDigest) else { return .unknown }
        if key.isRevoked { return .revoked(key) }
        try await self.client.query(
            "UPDATE agent_keys SET last_used_at = \(Date().timeIntervalSince1970) WHERE id = \(key.id)", logger: self.logger)
        return .valid(key)
    }

    public func hasActiveKey(hostname: String) async throws -> Bool {
        let rows = try await self.client.query(
            "SELECT EXISTS(SELECT 1 FROM agent_keys WHERE hostname = \(hostname) AND revoked_at IS NULL)", logger: self.logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    static func key(from row: PostgresRandomAccessRow) throws -> AgentKey {
        AgentKey(
            id: try row.value("id"), hostname: try row.value("hostname"),
            createdAt: try row.date("created_at"), revokedAt: try row.optionalDate("revoked_at"),
            lastUsedAt: try row.optionalDate("last_used_at")
        )
    }
}
