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
        migrator.registerMigration("v2: messages and mailboxes") { db in
            // Row ids are the global delivery order (AUTOINCREMENT: never reused after retention).
            // A client's cursor (delivered_through) is a row id; first_id keeps old broadcasts from newcomers.
            // Every host already known is known for messaging too.
            try db.execute(sql: """
                CREATE TABLE messages (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  message_id TEXT NOT NULL,
                  sender TEXT NOT NULL,
                  recipient TEXT,
                  content TEXT NOT NULL,
                  seq INTEGER,
                  kind TEXT,
                  sent_at REAL,
                  stored_at REAL NOT NULL,
                  UNIQUE(sender, message_id)
                );
                CREATE INDEX messages_recipient ON messages(recipient, id);
                CREATE INDEX messages_sender ON messages(sender, id);
                CREATE INDEX messages_stored_at ON messages(stored_at);

                CREATE TABLE mailboxes (
                  client_id TEXT PRIMARY KEY NOT NULL,
                  kind TEXT NOT NULL,
                  delivered_through INTEGER NOT NULL,
                  first_id INTEGER NOT NULL,
                  notices INTEGER NOT NULL DEFAULT 0,
                  created_at REAL NOT NULL,
                  last_seen REAL
                ) WITHOUT ROWID;
                CREATE INDEX mailboxes_notices ON mailboxes(notices) WHERE notices = 1;

                INSERT INTO mailboxes(client_id, kind, delivered_through, first_id, notices, created_at, last_seen)
                  SELECT hostname, 'agent', 0, 0, 0, first_seen, last_seen FROM agents;
                """)
        }
        migrator.registerMigration("v3: files") { db in
            // One row per verified file, written after the bytes are in place. Ids are UUIDv7 text:
            // sorted by arrival, so paging is `id < before`. stored_path is relative to files.directory.
            try db.execute(sql: """
                CREATE TABLE files (
                  id TEXT PRIMARY KEY NOT NULL,
                  transfer_id TEXT NOT NULL UNIQUE,
                  sender TEXT NOT NULL,
                  recipient TEXT,
                  filename TEXT NOT NULL,
                  stored_path TEXT NOT NULL,
                  size INTEGER NOT NULL,
                  sha256 TEXT NOT NULL,
                  created_at REAL NOT NULL
                );
                CREATE INDEX files_sender ON files(sender, id);
                """)
        }
        migrator.registerMigration("v4: users and sessions") { db in
            // Refresh tokens are kept as SHA-256 digests only. A session's current token has
            // spent_at NULL; spent ones are kept until the session is pruned, so a reused token is
            // recognised (and ends its session) rather than merely refused.
            try db.execute(sql: """
                CREATE TABLE users (
                  name TEXT PRIMARY KEY NOT NULL,
                  role TEXT NOT NULL,
                  password_hash TEXT NOT NULL,
                  created_at REAL NOT NULL,
                  updated_at REAL NOT NULL
                ) WITHOUT ROWID;

                CREATE TABLE user_sessions (
                  id TEXT PRIMARY KEY NOT NULL,
                  user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                  created_at REAL NOT NULL,
                  expires_at REAL NOT NULL,
                  ended_at REAL
                ) WITHOUT ROWID;
                CREATE INDEX user_sessions_user ON user_sessions(user_name);

                CREATE TABLE refresh_tokens (
                  digest BLOB PRIMARY KEY NOT NULL,
                  session_id TEXT NOT NULL REFERENCES user_sessions(id) ON DELETE CASCADE,
                  issued_at REAL NOT NULL,
                  spent_at REAL
                ) WITHOUT ROWID;
                CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);
                """)
        }
        migrator.registerMigration("v5: revoked keys by time") { db in
            // The revocation check asks several times a second which keys were revoked lately.
            try db.execute(sql: "CREATE INDEX agent_keys_revoked ON agent_keys(revoked_at) WHERE revoked_at IS NOT NULL")
        }
        migrator.registerMigration("v6: alerting") { db in
            // One row per occurrence; at most one unresolved row per fingerprint (the partial
            // unique index), so a transition finds its row without a scan. Labels, processes and
            // rule bodies are JSON: read whole, never queried inside.
            try db.execute(sql: """
                CREATE TABLE alert_rules (
                  name TEXT PRIMARY KEY NOT NULL,
                  body TEXT NOT NULL,
                  created_by TEXT NOT NULL,
                  updated_at REAL NOT NULL
                ) WITHOUT ROWID;

                CREATE TABLE alerts (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  fingerprint TEXT NOT NULL,
                  rule TEXT NOT NULL,
                  kind TEXT NOT NULL,
                  severity TEXT NOT NULL,
                  hostname TEXT NOT NULL,
                  series TEXT,
                  key TEXT,
                  status TEXT NOT NULL,
                  value REAL,
                  threshold REAL,
                  summary TEXT NOT NULL,
                  labels TEXT NOT NULL,
                  top_processes TEXT NOT NULL,
                  started_at REAL NOT NULL,
                  fired_at REAL,
                  resolved_at REAL,
                  acknowledged_by TEXT,
                  acknowledged_at REAL,
                  acknowledge_comment TEXT,
                  notified_status TEXT,
                  last_notified_at REAL
                );
                CREATE UNIQUE INDEX alerts_unresolved ON alerts(fingerprint) WHERE status != 'resolved';
                CREATE INDEX alerts_host ON alerts(hostname, id);
                CREATE INDEX alerts_resolved_at ON alerts(resolved_at) WHERE resolved_at IS NOT NULL;
                CREATE INDEX alerts_owed_resolution ON alerts(id) WHERE status = 'resolved' AND notified_status = 'firing';

                CREATE TABLE silences (
                  id TEXT PRIMARY KEY NOT NULL,
                  body TEXT NOT NULL,
                  ends_at REAL NOT NULL
                ) WITHOUT ROWID;

                CREATE TABLE notifications (
                  id TEXT PRIMARY KEY NOT NULL,
                  channel TEXT NOT NULL,
                  body BLOB NOT NULL,
                  state TEXT NOT NULL,
                  attempts INTEGER NOT NULL,
                  next_attempt_at REAL NOT NULL,
                  last_error TEXT,
                  created_at REAL NOT NULL,
                  updated_at REAL NOT NULL,
                  delivered_at REAL
                ) WITHOUT ROWID;
                CREATE INDEX notifications_open ON notifications(created_at) WHERE state IN ('pending', 'retrying');
                CREATE INDEX notifications_created ON notifications(created_at);
                """)
        }
        return migrator
    }
}
