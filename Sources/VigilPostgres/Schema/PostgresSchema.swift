/// The PostgreSQL schema, as an ordered list of migrations, mirroring the SQLite store's tables
/// (`SQLiteStore+Migrations.swift`) so one test suite runs against both. Times are
/// `double precision` Unix seconds, as in SQLite: compact, sortable, one mapping for both.
enum PostgresSchema {
    static let migrations: [PostgresMigration] = [
        PostgresMigration(name: "v1: keys, agents, liveness events", sql: """
            CREATE TABLE meta (
              key text PRIMARY KEY,
              value text NOT NULL
            );

            CREATE TABLE agent_keys (
              id text PRIMARY KEY,
              hostname text NOT NULL,
              secret_digest bytea NOT NULL,
              created_at double precision NOT NULL,
              revoked_at double precision,
              last_used_at double precision
            );
            CREATE INDEX agent_keys_hostname ON agent_keys(hostname);
            CREATE INDEX agent_keys_revoked ON agent_keys(revoked_at) WHERE revoked_at IS NOT NULL;

            CREATE TABLE agents (
              hostname text PRIMARY KEY,
              state text NOT NULL,
              state_since double precision NOT NULL,
              first_seen double precision NOT NULL,
              last_seen double precision,
              agent_version text,
              protocol_version bigint,
              capabilities text NOT NULL DEFAULT '[]',
              address text
            );

            CREATE TABLE liveness_events (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              hostname text NOT NULL,
              from_state text,
              to_state text NOT NULL,
              reason text NOT NULL,
              at double precision NOT NULL
            );
            CREATE INDEX liveness_events_hostname ON liveness_events(hostname, id);
            """),
        PostgresMigration(name: "v2: messages and mailboxes", sql: """
            CREATE TABLE messages (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              message_id text NOT NULL,
              sender text NOT NULL,
              recipient text,
              content text NOT NULL,
              seq bigint,
              kind text,
              sent_at double precision,
              stored_at double precision NOT NULL,
              UNIQUE (sender, message_id)
            );
            CREATE INDEX messages_recipient ON messages(recipient, id);
            CREATE INDEX messages_broadcast ON messages(id) WHERE recipient IS NULL;
            CREATE INDEX messages_sender ON messages(sender, id);
            CREATE INDEX messages_stored_at ON messages(stored_at);

            CREATE TABLE mailboxes (
              client_id text PRIMARY KEY,
              kind text NOT NULL,
              delivered_through bigint NOT NULL,
              first_id bigint NOT NULL,
              notices boolean NOT NULL DEFAULT false,
              created_at double precision NOT NULL,
              last_seen double precision
            );
            CREATE INDEX mailboxes_notices ON mailboxes(client_id) WHERE notices;
            """),
        PostgresMigration(name: "v3: files", sql: """
            CREATE TABLE files (
              id text PRIMARY KEY,
              transfer_id text NOT NULL UNIQUE,
              sender text NOT NULL,
              recipient text,
              filename text NOT NULL,
              stored_path text NOT NULL,
              size bigint NOT NULL,
              sha256 text NOT NULL,
              created_at double precision NOT NULL
            );
            CREATE INDEX files_sender ON files(sender, id);
            """),
        PostgresMigration(name: "v4: users and sessions", sql: """
            CREATE TABLE users (
              name text PRIMARY KEY,
              role text NOT NULL,
              password_hash text NOT NULL,
              created_at double precision NOT NULL,
              updated_at double precision NOT NULL
            );

            CREATE TABLE user_sessions (
              id text PRIMARY KEY,
              user_name text NOT NULL REFERENCES users(name) ON DELETE CASCADE,
              created_at double precision NOT NULL,
              expires_at double precision NOT NULL,
              ended_at double precision
            );
            CREATE INDEX user_sessions_user ON user_sessions(user_name);

            CREATE TABLE refresh_tokens (
              digest bytea PRIMARY KEY,
              session_id text NOT NULL REFERENCES user_sessions(id) ON DELETE CASCADE,
              issued_at double precision NOT NULL,
              spent_at double precision
            );
            CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);
            """),
        PostgresMigration(name: "v5: alerting", sql: """
            CREATE TABLE alert_rules (
              name text PRIMARY KEY,
              body text NOT NULL,
              created_by text NOT NULL,
              updated_at double precision NOT NULL
            );

            CREATE TABLE alerts (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              fingerprint text NOT NULL,
              rule text NOT NULL,
              kind text NOT NULL,
              severity text NOT NULL,
              hostname text NOT NULL,
              series text,
              key text,
              status text NOT NULL,
              value double precision,
              threshold double precision,
              summary text NOT NULL,
              labels text NOT NULL,
              top_processes text NOT NULL,
              started_at double precision NOT NULL,
              fired_at double precision,
              resolved_at double precision,
              acknowledged_by text,
              acknowledged_at double precision,
              acknowledge_comment text,
              notified_status text,
              last_notified_at double precision
            );
            CREATE UNIQUE INDEX alerts_unresolved ON alerts(fingerprint) WHERE status <> 'resolved';
            CREATE INDEX alerts_host ON alerts(hostname, id);
            CREATE INDEX alerts_resolved_at ON alerts(resolved_at) WHERE resolved_at IS NOT NULL;
            CREATE INDEX alerts_owed_resolution ON alerts(id) WHERE status = 'resolved' AND notified_status = 'firing';

            CREATE TABLE silences (
              id text PRIMARY KEY,
              body text NOT NULL,
              ends_at double precision NOT NULL
            );

            CREATE TABLE notifications (
              id text PRIMARY KEY,
              channel text NOT NULL,
              body bytea NOT NULL,
              state text NOT NULL,
              attempts bigint NOT NULL,
              next_attempt_at double precision NOT NULL,
              last_error text,
              created_at double precision NOT NULL,
              updated_at double precision NOT NULL,
              delivered_at double precision
            );
            CREATE INDEX notifications_open ON notifications(created_at) WHERE state IN ('pending', 'retrying');
            CREATE INDEX notifications_created ON notifications(created_at);
            """),
        PostgresMetricsSchema.migration,
    ]
}
