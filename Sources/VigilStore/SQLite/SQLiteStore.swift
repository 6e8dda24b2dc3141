import Foundation
import GRDB

/// The embedded store: one SQLite file in WAL mode, accessed through GRDB.
///
/// WAL lets readers (the HTTP API, `vigil keys list` in another process) run beside the writer.
/// Times are stored as REAL Unix seconds: compact, and sortable without parsing.
public final class SQLiteStore: VigilStore {
    /// The file name inside the data directory.
    public static let fileName = "vigil.sqlite"

    /// A `DatabasePool` on disk, or a `DatabaseQueue` in memory.
    let pool: any DatabaseWriter

    /// Opens (creating if needed) the store in a data directory and migrates it to the current schema.
    ///
    /// - Parameter directory: The data directory; created with mode 0700 when missing.
    public init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var configuration = Configuration()
        // Another process (the CLI) may hold the write lock briefly: wait rather than fail.
        configuration.busyMode = .timeout(5)
        let path = directory.appendingPathComponent(Self.fileName).path
        try DataDirectory.createPrivateFile(atPath: path)  // 0600 whatever the umask, and so its -wal and -shm
        self.pool = try DatabasePool(path: path, configuration: configuration)
        try self.pool.syncEveryCommit()
        try Self.migrator.migrate(self.pool)
    }

    /// A store with no file at all (`storage: memory`): everything is gone when it is released.
    public init(inMemory: Void = ()) throws {
        self.pool = try DatabaseQueue()
        try Self.migrator.migrate(self.pool)
    }

    public func serverID() async throws -> String {
        try await self.pool.write { db in
            if let id = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'server_id'") {
                return id
            }
            let id = UUID().uuidString.lowercased()
            try db.execute(sql: "INSERT INTO meta(key, value) VALUES ('server_id', ?)", arguments: [id])
            return id
        }
    }

    // MARK: Keys

    public func createKey(hostname: String) async throws -> IssuedAgentKey {
        let token = AgentKeyToken.generate()
        let key = AgentKey(id: token.id, hostname: hostname, createdAt: Date())
        try await self.pool.write { db in
            try db.execute(
                sql: "INSERT INTO agent_keys(id, hostname, secret_digest, created_at) VALUES (?, ?, ?, ?)",
                arguments: [key.id, key.hostname, Data(token.secretDigest), key.createdAt.timeIntervalSince1970]
            )
        }
        return IssuedAgentKey(key: key, token: token.text)
    }

    public func listKeys() async throws -> [AgentKey] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agent_keys ORDER BY created_at DESC, id").map(Self.key(from:))
        }
    }

    public func revokeKey(id: String) async throws -> AgentKey? {
        try await self.pool.write { db in
            try db.execute(sql: "UPDATE agent_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                           arguments: [Date().timeIntervalSince1970, id])
            return try Row.fetchOne(db, sql: "SELECT * FROM agent_keys WHERE id = ?", arguments: [id]).map(Self.key(from:))
        }
    }

    public func keysRevoked(since: Date) async throws -> [AgentKey] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agent_keys WHERE revoked_at > ? ORDER BY revoked_at", arguments: [since.timeIntervalSince1970])
                .map(Self.key(from:))
        }
    }

    public func verifyKey(_ text: String) async throws -> KeyVerification {
        guard let token = AgentKeyToken(text) else { return .malformed }
        let found = try await self.pool.read { db -> (AgentKey, [UInt8])? in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM agent_keys WHERE id = ?", arguments: [token.id]) else { return nil }
            let digest: Data = row["secret_digest"]
            return (Self.key(from: row), Array(digest))
        }
        guard let (key, digest) = found, AgentKeyToken.constantTimeEquals(digest, token.secretDigest) else {
            return .unknown
        }
        if key.isRevoked { return .revoked(key) }
        do {
            try await self.pool.write { db in
                try db.execute(sql: "UPDATE agent_keys SET last_used_at = ? WHERE id = ?", arguments: [Date().timeIntervalSince1970, key.id])
            }
        } catch where StorageFull.isCause(of: error) {
            // The last-use time is for people reading `vigil keys list`: a full disk must not
            // turn a valid key away (registration and metrics posts check keys).
        }
        return .valid(key)
    }

    public func hasActiveKey(hostname: String) async throws -> Bool {
        try await self.pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM agent_keys WHERE hostname = ? AND revoked_at IS NULL)", arguments: [hostname]) ?? false
        }
    }

    // MARK: Agents and liveness

    public func upsertAgent(_ record: AgentRecord) async throws {
        try await self.pool.write { db in try Self.upsert(record, in: db) }
    }

    public func agents() async throws -> [AgentRecord] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agents ORDER BY hostname").map(Self.agent(from:))
        }
    }

    public func agent(hostname: String) async throws -> AgentRecord? {
        try await self.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE hostname = ?", arguments: [hostname]).map(Self.agent(from:))
        }
    }

    @discardableResult
    public func append(events: [LivenessEvent]) async throws -> [LivenessEvent] {
        guard !events.isEmpty else { return [] }
        return try await self.pool.write { db in
            var stored: [LivenessEvent] = []
            stored.reserveCapacity(events.count)
            for var event in events {
                try db.execute(
                    sql: "INSERT INTO liveness_events(hostname, from_state, to_state, reason, at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [event.hostname, event.from?.rawValue, event.to.rawValue, event.reason, event.at.timeIntervalSince1970]
                )
                event.id = db.lastInsertedRowID
                let at = event.at.timeIntervalSince1970
                try db.execute(
                    sql: """
                    INSERT INTO agents(hostname, state, state_since, first_seen, capabilities) VALUES (?, ?, ?, ?, '[]')
                    ON CONFLICT(hostname) DO UPDATE SET state = excluded.state, state_since = excluded.state_since
                    """,
                    arguments: [event.hostname, event.to.rawValue, at, at]
                )
                stored.append(event)
            }
            return stored
        }
    }

    public func events(hostname: String?, limit: Int, before: Int64?) async throws -> [LivenessEvent] {
        try await self.pool.read { db in
            var sql = "SELECT * FROM liveness_events WHERE 1"
            var arguments: StatementArguments = []
            if let hostname {
                sql += " AND hostname = ?"
                arguments += [hostname]
            }
            if let before {
                sql += " AND id < ?"
                arguments += [before]
            }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.event(from:))
        }
    }

    public func updateLastSeen(_ entries: [String: Date]) async throws {
        guard !entries.isEmpty else { return }
        try await self.pool.write { db in
            let statement = try db.cachedStatement(sql: "UPDATE agents SET last_seen = ? WHERE hostname = ?")
            for (hostname, date) in entries {
                try statement.execute(arguments: [date.timeIntervalSince1970, hostname])
            }
        }
    }
}

// MARK: Row mapping

extension SQLiteStore {
    static func upsert(_ record: AgentRecord, in db: Database) throws {
        let capabilities = String(decoding: try JSONEncoder().encode(record.capabilities), as: UTF8.self)
        try db.execute(
            sql: """
            INSERT INTO agents(hostname, state, state_since, first_seen, last_seen, agent_version, protocol_version, capabilities, address)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(hostname) DO UPDATE SET
              state = excluded.state, state_since = excluded.state_since, last_seen = excluded.last_seen,
              agent_version = excluded.agent_version, protocol_version = excluded.protocol_version,
              capabilities = excluded.capabilities, address = excluded.address
            """,
            arguments: [
                record.hostname, record.state.rawValue, record.stateSince.timeIntervalSince1970,
                record.firstSeen.timeIntervalSince1970, record.lastSeen?.timeIntervalSince1970,
                record.agentVersion, record.protocolVersion, capabilities, record.address,
            ]
        )
    }

    static func key(from row: Row) -> AgentKey {
        AgentKey(
            id: row["id"], hostname: row["hostname"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            revokedAt: (row["revoked_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            lastUsedAt: (row["last_used_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        )
    }

    static func agent(from row: Row) -> AgentRecord {
        let capabilitiesJSON: String = row["capabilities"] ?? "[]"
        let capabilities = (try? JSONDecoder().decode([String].self, from: Data(capabilitiesJSON.utf8))) ?? []
        return AgentRecord(
            hostname: row["hostname"],
            state: LivenessState(rawValue: row["state"]) ?? .down,
            stateSince: Date(timeIntervalSince1970: row["state_since"]),
            firstSeen: Date(timeIntervalSince1970: row["first_seen"]),
            lastSeen: (row["last_seen"] as Double?).map(Date.init(timeIntervalSince1970:)),
            agentVersion: row["agent_version"],
            protocolVersion: row["protocol_version"],
            capabilities: capabilities,
            address: row["address"]
        )
    }

    static func event(from row: Row) -> LivenessEvent {
        LivenessEvent(
            id: row["id"], hostname: row["hostname"],
            from: (row["from_state"] as String?).flatMap(LivenessState.init(rawValue:)),
            to: LivenessState(rawValue: row["to_state"]) ?? .down,
            reason: row["reason"],
            at: Date(timeIntervalSince1970: row["at"])
        )
    }
}
