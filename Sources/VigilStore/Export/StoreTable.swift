/// A table of the store as both backends hold it (`SQLiteStore+Migrations.swift` and
/// `PostgresSchema.swift` mirror each other column for column), for `vigil migrate`.
///
/// Only columns both schemas have are listed; PostgreSQL's own extra columns (the cluster's
/// `agents.owner`) start empty, as for a host no server has claimed yet.
package struct StoreTable: Sendable, Equatable {
    package enum Kind: Sendable, Equatable {
        case text
        case real
        case integer
        case blob
        /// INTEGER 0/1 in SQLite, `boolean` in PostgreSQL.
        case boolean
    }

    package struct Column: Sendable, Equatable {
        package var name: String
        package var kind: Kind

        package init(_ name: String, _ kind: Kind) {
            self.name = name
            self.kind = kind
        }
    }

    package var name: String
    package var columns: [Column]
    /// The primary key (one column): the copy reads the table in its order, a page at a time.
    package var key: String
    /// The key is an id the database draws (SQLite `AUTOINCREMENT`, PostgreSQL `GENERATED ALWAYS
    /// AS IDENTITY`): copied as it is, and the PostgreSQL sequence moved past every id SQLite
    /// ever drew, so no new row reuses one (message ids are delivery cursors).
    package var drawsIDs: Bool

    package init(_ name: String, key: String, drawsIDs: Bool = false, _ columns: [Column]) {
        self.name = name
        self.key = key
        self.drawsIDs = drawsIDs
        self.columns = columns
    }

    package var keyIndex: Int { self.columns.firstIndex { $0.name == self.key }! }

    /// Every table `vigil migrate` copies, parents before the tables that refer to them.
    package static let all: [StoreTable] = Self.identity + Self.keys + Self.agents + Self.users + Self.messages + Self.files + Self.alerting
}
