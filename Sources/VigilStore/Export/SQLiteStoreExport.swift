import Foundation
import GRDB

/// Reads a data directory's `vigil.sqlite` for `vigil migrate`: read-only, one table a page at a
/// time in key order (keyset paging, so a page costs the same at the end of a large table).
///
/// The caller holds the data directory's lock (``DataDirectoryLock``) so no server writes
/// meanwhile; opening read-only also leaves the file exactly as it was should the copy fail.
package final class SQLiteStoreExport: Sendable {
    private let queue: DatabaseQueue

    /// Opens the store of a data directory.
    ///
    /// - Throws: ``DataDirectoryError`` when there is no store, or it was written by an older
    ///   Vigil whose schema is not the current one (a server started once brings it up to date).
    package init(directory: URL) throws {
        let path = directory.appendingPathComponent(SQLiteStore.fileName).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataDirectoryError("no store in \(directory.path): \(SQLiteStore.fileName) is missing (is --data-dir the server's data_dir?)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        self.queue = try DatabaseQueue(path: path, configuration: configuration)
        let current = try self.queue.read { db in try SQLiteStore.migrator.hasCompletedMigrations(db) }
        guard current else {
            throw DataDirectoryError("""
                \(path) has an older schema than this vigil: start this version's server on it once (it migrates \
                the file), stop it, then migrate
                """)
        }
    }

    /// Rows in a table.
    package func count(_ table: StoreTable) throws -> Int64 {
        try self.queue.read { db in try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.name)") ?? 0 }
    }

    /// Up to `limit` rows after the key `after` (from the first when nil), in key order, each with
    /// the table's columns in their listed order.
    package func rows(_ table: StoreTable, after: StoreValue?, limit: Int) throws -> [[StoreValue]] {
        let columns = table.columns.map(\.name).joined(separator: ", ")
        var sql = "SELECT \(columns) FROM \(table.name)"
        var arguments: StatementArguments = []
        if let after {
            sql += " WHERE \(table.key) > ?"
            arguments += [Self.databaseValue(after)]
        }
        sql += " ORDER BY \(table.key) LIMIT ?"
        arguments += [limit]
        return try self.queue.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                table.columns.indices.map { index in Self.value(row[index] as DatabaseValue, as: table.columns[index].kind) }
            }
        }
    }

    /// The highest id SQLite ever drew for a table (`sqlite_sequence`, kept by `AUTOINCREMENT`
    /// after the rows are deleted), or the highest id present, whichever is larger.
    package func highestID(_ table: StoreTable) throws -> Int64 {
        try self.queue.read { db in
            let drawn = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [table.name]) ?? 0
            let present = try Int64.fetchOne(db, sql: "SELECT MAX(\(table.key)) FROM \(table.name)") ?? 0
            return max(drawn, present)
        }
    }

    package func close() throws {
        try self.queue.close()
    }

    /// A stored value in the kind its column has in both schemas. SQLite's column affinity may
    /// hand back an integer for a REAL column or the reverse; the kind decides.
    static func value(_ value: DatabaseValue, as kind: StoreTable.Kind) -> StoreValue {
        switch (value.storage, kind) {
        case (.null, _): .null
        case let (.int64(number), .real): .real(Double(number))
        case let (.int64(number), .boolean): .boolean(number != 0)
        case let (.int64(number), _): .integer(number)
        case let (.double(number), .integer): .integer(Int64(number))
        case let (.double(number), .boolean): .boolean(number != 0)
        case let (.double(number), _): .real(number)
        case let (.string(text), .blob): .blob(Array(text.utf8))
        case let (.string(text), _): .text(text)
        case let (.blob(data), .text): .text(String(decoding: data, as: UTF8.self))
        case let (.blob(data), _): .blob(Array(data))
        }
    }

    static func databaseValue(_ value: StoreValue) -> DatabaseValue {
        switch value {
        case .null: .null
        case let .integer(number): number.databaseValue
        case let .real(number): number.databaseValue
        case let .text(text): text.databaseValue
        case let .blob(bytes): Data(bytes).databaseValue
        case let .boolean(flag): (flag ? 1 : 0).databaseValue
        }
    }
}
