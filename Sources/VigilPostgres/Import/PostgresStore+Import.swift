import Foundation
import NIOCore
import PostgresNIO
import VigilStore

/// Restoring rows as another store held them (`vigil migrate`): ids and times kept as they are,
/// many rows per statement. Only for an empty database: nothing here merges with rows already there.
extension PostgresStore {
    /// Bind parameters one statement may carry (the protocol counts them in 16 bits).
    package static let maximumParameters = 65_535

    /// The tables among `tables`, and of the metrics history, that hold at least one row.
    package func tablesHoldingRows(_ tables: [StoreTable]) async throws -> [String] {
        let names = tables.map(\.name) + ["metrics_hosts", "metrics_latest"] + MetricsTable.all.map(\.name)
        var holding: [String] = []
        for name in names {
            // Names come from the fixed lists above, never from input.
            let rows = try await self.client.query(PostgresQuery(unsafeSQL: "SELECT EXISTS(SELECT 1 FROM \(name))"), logger: self.logger)
            for try await exists in rows.decode(Bool.self) where exists { holding.append(name) }
        }
        return holding
    }

    /// Rows in a table.
    package func count(_ table: StoreTable) async throws -> Int64 {
        let rows = try await self.client.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table.name)"), logger: self.logger)
        for try await count in rows.decode(Int64.self) { return count }
        return 0
    }

    /// Inserts rows with every listed column as given, ids included: one multi-row statement per
    /// batch of at most ``maximumParameters`` values, each its own transaction.
    ///
    /// - Parameter rows: Values in the order of `table.columns`.
    package func importRows(_ table: StoreTable, _ rows: [[StoreValue]]) async throws {
        let width = table.columns.count
        let perStatement = max(1, Self.maximumParameters / width)
        var start = 0
        while start < rows.count {
            let batch = rows[start..<min(rows.count, start + perStatement)]
            var binds = PostgresBindings(capacity: batch.count * width)
            var tuples: [String] = []
            tuples.reserveCapacity(batch.count)
            var parameter = 0
            for row in batch {
                precondition(row.count == width, "a row of \(table.name) has \(row.count) values for \(width) columns")
                var placeholders: [String] = []
                placeholders.reserveCapacity(width)
                for value in row {
                    parameter += 1
                    placeholders.append("$\(parameter)")
                    Self.bind(value, into: &binds)
                }
                tuples.append("(" + placeholders.joined(separator: ", ") + ")")
            }
            // An identity column refuses a given value unless told to take it.
            let overriding = table.drawsIDs ? " OVERRIDING SYSTEM VALUE" : ""
            let sql = "INSERT INTO \(table.name)(\(table.columns.map(\.name).joined(separator: ", ")))\(overriding) VALUES " + tuples.joined(separator: ", ")
            try await self.client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: self.logger)
            start += batch.count
        }
    }

    /// Moves the sequence of a table's drawn ids so the next id drawn is above `id`.
    package func moveSequence(of table: StoreTable, past id: Int64) async throws {
        guard table.drawsIDs, id > 0 else { return }
        var binds = PostgresBindings()
        binds.append(table.name)
        binds.append(table.key)
        binds.append(id)
        try await self.client.query(PostgresQuery(unsafeSQL: "SELECT setval(pg_get_serial_sequence($1, $2), $3, true)", binds: binds), logger: self.logger)
    }

    /// The last id a table's sequence handed out or was set to (0 when none), for the
    /// verification: every id copied must be at or below it.
    package func sequenceValue(of table: StoreTable) async throws -> Int64? {
        guard table.drawsIDs else { return nil }
        var binds = PostgresBindings()
        binds.append(table.name)
        binds.append(table.key)
        let rows = try await self.client.query(PostgresQuery(unsafeSQL: """
            SELECT COALESCE(s.last_value, 0) FROM pg_sequences s
            WHERE format('%I.%I', s.schemaname, s.sequencename) = pg_get_serial_sequence($1, $2)
            """, binds: binds), logger: self.logger)
        for try await value in rows.decode(Int64.self) { return value }
        return nil
    }

    static func bind(_ value: StoreValue, into binds: inout PostgresBindings) {
        switch value {
        case .null: binds.appendNull()
        case let .integer(number): binds.append(number)
        case let .real(number): binds.append(number)
        case let .text(text): binds.append(text)
        case let .blob(bytes): binds.append(ByteBuffer(bytes: bytes))
        case let .boolean(flag): binds.append(flag)
        }
    }
}
