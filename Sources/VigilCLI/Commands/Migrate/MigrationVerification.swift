import Foundation
import VigilPostgres
import VigilProtocol
import VigilStore

/// Counts both sides after the copy: rows per table, each drawn-id sequence against the highest
/// id SQLite drew, and the metrics history per host (raw samples) and per level (rollup rows,
/// hosts, latest documents).
struct MigrationVerification {
    let source: MigrationSource
    let store: PostgresStore
    let metrics: PostgresMetricsStore
    /// Rollup rows PostgreSQL holds beyond SQLite's by design (see ``MigrationCopy/copyMetrics()``).
    let expectedGains: [String: MetricsRowCounts]

    struct Line {
        var what: String
        var sqlite: Int64
        var postgres: Int64
        /// Whether the two agree (equal, or for a sequence: PostgreSQL's at least SQLite's).
        var ok: Bool
    }

    struct Report {
        var lines: [Line]

        var allMatch: Bool { self.lines.allSatisfy(\.ok) }

        /// `what | sqlite | postgres | ok`, aligned.
        var table: String {
            let header = ["what", "sqlite", "postgres", "ok"]
            let rows = [header] + self.lines.map { [$0.what, String($0.sqlite), String($0.postgres), $0.ok ? "ok" : "MISMATCH"] }
            let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
            return rows.map { row in
                row.enumerated().map { column, cell in
                    column == 0 || column == 3 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[column] - cell.count) + cell
                }.joined(separator: " | ").trimmingCharacters(in: .whitespaces)
            }.joined(separator: "\n")
        }
    }

    func run() async throws -> Report {
        var lines: [Line] = []
        for table in StoreTable.all {
            let sqlite = try self.source.store.count(table)
            let postgres = try await self.store.count(table)
            lines.append(Line(what: table.name, sqlite: sqlite, postgres: postgres, ok: sqlite == postgres))
            if let sequence = try await self.store.sequenceValue(of: table) {
                let highest = try self.source.store.highestID(table)
                lines.append(Line(what: "\(table.name) highest id (sequence)", sqlite: highest, postgres: sequence, ok: sequence >= highest))
            }
        }
        guard let history = self.source.metrics else { return Report(lines: lines) }
        let sqlite = try history.rowCounts()
        let postgres = try await self.metrics.rowCounts()
        let withHistory = { (counts: [String: MetricsRowCounts]) in Int64(counts.values.filter { $0.levels.contains { $0 > 0 } }.count) }
        lines.append(Line(what: "metrics hosts with history", sqlite: withHistory(sqlite), postgres: withHistory(postgres),
                          ok: withHistory(sqlite) == withHistory(postgres)))
        for hostname in Set(sqlite.keys).union(postgres.keys).sorted() {
            let expected = sqlite[hostname]?.levels[0] ?? 0
            let found = postgres[hostname]?.levels[0] ?? 0
            guard expected > 0 || found > 0 else { continue }
            lines.append(Line(what: "metrics raw samples \(Self.cell(hostname))", sqlite: expected, postgres: found, ok: expected == found))
        }
        for resolution in MetricResolution.rollups {
            var mismatched = false
            var expectedTotal: Int64 = 0
            var foundTotal: Int64 = 0
            for hostname in Set(sqlite.keys).union(postgres.keys) {
                let expected = (sqlite[hostname]?.levels[resolution.level] ?? 0) + (self.expectedGains[hostname]?.levels[resolution.level] ?? 0)
                let found = postgres[hostname]?.levels[resolution.level] ?? 0
                if expected != found { mismatched = true }
                expectedTotal += expected
                foundTotal += found
            }
            lines.append(Line(what: "metrics \(resolution.name) rollup rows (all hosts)", sqlite: expectedTotal, postgres: foundTotal, ok: !mismatched))
        }
        let latestSQLite = Int64(try history.latestDocuments().count)
        let latestPostgres = Int64(try await self.metrics.latestDocuments().count)
        lines.append(Line(what: "metrics latest documents", sqlite: latestSQLite, postgres: latestPostgres, ok: latestSQLite == latestPostgres))
        return Report(lines: lines)
    }

    /// A hostname as a table cell: as it is when it is a plain name, else quoted and escaped (a
    /// name stored by an older version, say, must not break the line or drive the terminal).
    static func cell(_ hostname: String) -> String {
        let plain = !hostname.isEmpty && hostname.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-._".unicodeScalars.contains($0)) }
        return plain ? hostname : hostname.logEscaped
    }
}
