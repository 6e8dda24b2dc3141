import GRDB

extension SQLiteMetricsStore {
    /// The schema of `metrics.sqlite`, as an ordered list of migrations. Never edit a shipped
    /// migration: append a new one.
    ///
    /// - `hosts` maps hostnames to small integers so keys stay short.
    /// - `blocks` describes sealed blocks (``MetricsBlock``): `rows` × `columns` values in `bytes`
    ///   bytes, stored in `block_data`. It is `WITHOUT ROWID`, clustered on (host, resolution,
    ///   start), so a query for one host over a time range reads neighbouring entries. The payloads
    ///   live in a rowid table of their own because SQLite keeps whole records in the interior
    ///   pages of a `WITHOUT ROWID` b-tree: with kilobyte blobs inline its fan-out drops to a
    ///   handful, and statistics (a scan of `blocks`) would read the start of every payload.
    /// - `head_raw`, `head_minute`, `head_hour` hold the rows of the open blocks of each level (see
    ///   ``HeadRow``): append-only logs in arrival order, one SQL row per sample or bucket. Rows of
    ///   all hosts share pages, so a batch of a thousand hosts' samples fills a couple of hundred
    ///   pages at the end of the table instead of dirtying a page (and rebalancing neighbours) per
    ///   host, which measured 3 to 10 pages written per sample. The store keeps each open block's
    ///   row ids in memory; a sealed block's rows stay as dead rows until the log's prefix before
    ///   the oldest open block is deleted (``SQLiteMetricsWriter/compactHeads(_:others:)``).
    ///   `names` precedes `data` so reading it never touches a payload's overflow pages.
    /// - `head_sealed` records, per host and level, the last head row id already sealed into a
    ///   block (or discarded): rows up to it are dead. Start-up needs it to tell live rows from
    ///   dead ones that are still in the log; block end times alone would not do once retention
    ///   has deleted a host's blocks.
    /// - `latest` holds each host's latest full document.
    /// - `rollup_dirty` (v2) lists closed rollup buckets that back-filled samples reached and whose
    ///   stored row has not been recomputed yet (``RollupDirtyBucket``).
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: hosts, blocks, head logs, latest") { db in
            try db.execute(sql: """
                CREATE TABLE hosts (
                  id INTEGER PRIMARY KEY,
                  hostname TEXT NOT NULL UNIQUE
                );

                CREATE TABLE blocks (
                  host_id INTEGER NOT NULL,
                  resolution INTEGER NOT NULL,
                  start_ms INTEGER NOT NULL,
                  end_ms INTEGER NOT NULL,
                  rows INTEGER NOT NULL,
                  columns INTEGER NOT NULL,
                  bytes INTEGER NOT NULL,
                  data_id INTEGER NOT NULL,
                  PRIMARY KEY (host_id, resolution, start_ms)
                ) WITHOUT ROWID;

                CREATE TABLE block_data (
                  id INTEGER PRIMARY KEY,
                  data BLOB NOT NULL
                );

                CREATE TABLE head_sealed (
                  host_id INTEGER NOT NULL,
                  resolution INTEGER NOT NULL,
                  seq INTEGER NOT NULL,
                  PRIMARY KEY (host_id, resolution)
                ) WITHOUT ROWID;

                CREATE TABLE latest (
                  host_id INTEGER PRIMARY KEY NOT NULL,
                  ts REAL NOT NULL,
                  json BLOB NOT NULL
                );
                """)
            for resolution in MetricResolution.allCases {
                try db.execute(sql: """
                    CREATE TABLE \(Self.headTable(resolution)) (
                      seq INTEGER PRIMARY KEY AUTOINCREMENT,
                      host_id INTEGER NOT NULL,
                      ts_ms INTEGER NOT NULL,
                      names BLOB,
                      data BLOB NOT NULL
                    )
                    """)
            }
        }
        migrator.registerMigration("v2: rollup buckets awaiting back-fill") { db in
            try db.execute(sql: """
                CREATE TABLE rollup_dirty (
                  host_id INTEGER NOT NULL,
                  resolution INTEGER NOT NULL,
                  start_ms INTEGER NOT NULL,
                  PRIMARY KEY (host_id, resolution, start_ms)
                ) WITHOUT ROWID
                """)
        }
        return migrator
    }

    /// The head log of one level.
    static func headTable(_ resolution: MetricResolution) -> String {
        switch resolution {
        case .raw: "head_raw"
        case .minute: "head_minute"
        case .hour: "head_hour"
        }
    }
}
