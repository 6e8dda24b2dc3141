extension PostgresSchema {
    /// The cluster's tables, kept apart from the store's list so each can grow on its own (a
    /// migration is known by its name; the two lists touch different tables).
    ///
    /// Times here are the database's clock (`clock_timestamp()`), not the members': whether a
    /// member is silent, or a lease over, is judged on one clock whatever the servers' skew.
    static let clusterMigrations: [PostgresMigration] = [
        PostgresMigration(name: "cluster v1: members and the leader", sql: """
            CREATE TABLE cluster_members (
              id text PRIMARY KEY,
              agent_address text NOT NULL,
              http_address text NOT NULL,
              load bigint NOT NULL,
              capacity bigint NOT NULL,
              started_at double precision NOT NULL,
              last_seen double precision NOT NULL
            );

            CREATE TABLE cluster_leader (
              singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
              epoch bigint NOT NULL,
              member_id text NOT NULL,
              backend_pid integer NOT NULL,
              lease_until double precision NOT NULL
            );
            """),
        // Which member holds each host's session, renewed every heartbeat: a server restores
        // only its own hosts, and the leader declares DOWN a host whose server died and that did
        // not reconnect elsewhere within the restart grace.
        PostgresMigration(name: "cluster v2: agent owners", sql: """
            ALTER TABLE agents ADD COLUMN owner text, ADD COLUMN owner_seen double precision;
            CREATE INDEX agents_owner ON agents(owner)
            """),
    ]
}
