import GRDB

extension SQLiteStore {
    /// The schema, as an ordered list of migrations. Never edit a shipped migration: append a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: keys, agents, liveness events") { db in
            try db.execute(sql: """
                CREATE TABLE meta (
                  key TEXT PRIMARY KEY NOT NULL,
                  value TEXT NOT NULL
                ) WITHOUT ROWID;

                CREATE TABLE agent_keys (
                  id TEXT PRIMARY KEY NOT NULL,
                  hostname TEXT NOT NULL,
                  secret_digest BLOB NOT NULL,
                  created_at REAL NOT NULL,
                  revoked_at REAL,
                  last_used_at REAL
                );
                CREATE INDEX agent_keys_hostname ON agent_keys(hostname);

                CREATE TABLE agents (
                  hostname TEXT PRIMARY KEY NOT NULL,
                  state TEXT NOT NULL,
                  state_since REAL NOT NULL,
                  first_seen REAL NOT NULL,
                  last_seen REAL,
                  agent_version TEXT,
                  protocol_version INTEGER,
                  capabilities TEXT NOT NULL DEFAULT '[]',
                  address TEXT
                ) WITHOUT ROWID;

                CREATE TABLE liveness_events (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  hostname TEXT NOT NULL,
                  from_state TEXT,
                  to_state TEXT NOT NULL,
                  reason TEXT NOT NULL,
                  at REAL NOT NULL
                );
                CREATE INDEX liveness_events_hostname ON liveness_events(hostname, id);
                """)
        }
        return migrator
    }
}
