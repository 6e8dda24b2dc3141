import VigilStore

/// The metrics history's tables (migration "v6: metrics history" in ``PostgresSchema``).
///
/// - `metrics_hosts`: per host its `version`, bumped by every write to its history (the writers'
///   compare-and-set, see ``PostgresMetricsStore``), its newest raw sample and its newest written
///   minute and hour rows (`-2^63` when none), so any server can take the host over.
/// - `metrics_shapes`: series name lists by a 64-bit digest of their encoding, so a head row or a
///   block row names its columns with 8 bytes. Written once per distinct list, never deleted.
/// - Per level, `metrics_<level>_head` (one row per sample or bucket of open blocks, values as
///   8-byte little-endian doubles) and `metrics_<level>_blocks` (sealed ``MetricsBlock`` payloads),
///   range-partitioned on time (see ``MetricsTable``); partitions are made on demand and recorded
///   in `metrics_partitions` with their bounds, so retention finds them without parsing catalogs.
/// - `metrics_latest`: each host's latest full document.
/// - `vigil_metrics_claimed(got, wanted)` fails a statement (SQLSTATE `VG001`) when fewer hosts
///   were claimed than it needs: the whole statement, and so every row it wrote, is rolled back.
enum PostgresMetricsSchema {
    static let conflictState = "VG001"

    static var migration: PostgresMigration {
        var sql = """
            CREATE TABLE metrics_hosts (
              hostname text PRIMARY KEY,
              version bigint NOT NULL,
              newest_ms bigint NOT NULL,
              minute_ms bigint NOT NULL,
              hour_ms bigint NOT NULL
            );

            CREATE TABLE metrics_shapes (
              id bigint PRIMARY KEY,
              names bytea NOT NULL
            );

            CREATE TABLE metrics_latest (
              hostname text PRIMARY KEY,
              ts double precision NOT NULL,
              json bytea NOT NULL
            );

            CREATE TABLE metrics_partitions (
              name text PRIMARY KEY,
              parent text NOT NULL,
              lower_ms bigint NOT NULL,
              upper_ms bigint NOT NULL
            );
            CREATE INDEX metrics_partitions_parent ON metrics_partitions(parent, upper_ms);

            CREATE FUNCTION vigil_metrics_claimed(got bigint, wanted bigint) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN IF got <> wanted THEN RAISE EXCEPTION 'metrics history of % host(s) changed under this writer', wanted - got USING ERRCODE = '\(Self.conflictState)'; END IF; RETURN true; END $$;

            """
        for resolution in MetricResolution.allCases {
            let head = MetricsTable(resolution: resolution, kind: .head).name
            let blocks = MetricsTable(resolution: resolution, kind: .blocks).name
            sql += """
                CREATE TABLE \(head) (
                  hostname text NOT NULL,
                  ts_ms bigint NOT NULL,
                  shape bigint NOT NULL,
                  data bytea NOT NULL,
                  PRIMARY KEY (hostname, ts_ms)
                ) PARTITION BY RANGE (ts_ms);

                CREATE TABLE \(blocks) (
                  hostname text NOT NULL,
                  start_ms bigint NOT NULL,
                  end_ms bigint NOT NULL,
                  rows integer NOT NULL,
                  columns integer NOT NULL,
                  shape bigint NOT NULL,
                  data bytea NOT NULL,
                  PRIMARY KEY (hostname, end_ms)
                ) PARTITION BY RANGE (end_ms);

                """
        }
        return PostgresMigration(name: "v6: metrics history", sql: sql)
    }
}
