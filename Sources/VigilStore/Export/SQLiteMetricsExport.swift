import Foundation
import GRDB

/// Reads a data directory's `metrics.sqlite` for `vigil migrate`, read-only, as it is stored: per
/// host and level the sealed blocks (payloads untouched) and the live rows of the open block (head
/// rows past `head_sealed`; dead ones, already sealed, are skipped as the store's start-up skips
/// them). See ``SQLiteMetricsStore/migrator`` for the tables.
package final class SQLiteMetricsExport: Sendable {
    private let queue: DatabaseQueue

    /// Opens the history of a data directory, or returns nil when it has none (`metrics.sqlite`
    /// is missing: the server never stored a sample).
    package static func open(directory: URL) throws -> SQLiteMetricsExport? {
        let path = directory.appendingPathComponent(SQLiteMetricsStore.fileName).path
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        guard try queue.read({ db in try SQLiteMetricsStore.migrator.hasCompletedMigrations(db) }) else {
            throw DataDirectoryError("""
                \(path) has an older schema than this vigil: start this version's server on it once (it migrates \
                the file), stop it, then migrate
                """)
        }
        return SQLiteMetricsExport(queue: queue)
    }

    private init(queue: DatabaseQueue) {
        self.queue = queue
    }

    package func close() throws {
        try self.queue.close()
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try self.queue.read(body)
    }

    /// Every host with an id, by name.
    package func hosts() throws -> [(id: Int64, hostname: String)] {
        try self.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT id, hostname FROM hosts ORDER BY hostname").map { (id: $0[0] as Int64, hostname: $0[1] as String) }
        }
    }

    /// Up to `limit` sealed blocks of a host and level starting after `after` (from the first when
    /// nil), oldest first.
    package func blocks(hostID: Int64, resolution: MetricResolution, after: Int64?, limit: Int) throws -> [ExportedMetricsBlock] {
        try self.queue.read { db in
            try Row.fetchAll(db, sql: """
                SELECT start_ms, end_ms, rows, columns, data FROM blocks JOIN block_data ON block_data.id = blocks.data_id
                WHERE host_id = ? AND resolution = ? AND start_ms > ? ORDER BY start_ms LIMIT ?
                """, arguments: [hostID, resolution.rawValue, after ?? Int64.min, limit]).map { row in
                let data: Data = row[4]
                return ExportedMetricsBlock(startMs: row[0], endMs: row[1], rows: row[2], columns: row[3], data: Array(data))
            }
        }
    }

    /// The live head rows of a host and level (its open block), oldest first.
    package func openRows(hostID: Int64, resolution: MetricResolution) throws -> [ExportedMetricsRow] {
        try self.queue.read { db in
            let sealed = try Int64.fetchOne(db, sql: "SELECT seq FROM head_sealed WHERE host_id = ? AND resolution = ?",
                                            arguments: [hostID, resolution.rawValue]) ?? 0
            let rows = try Row.fetchCursor(db, sql: "SELECT seq, ts_ms, names, data FROM \(SQLiteMetricsStore.headTable(resolution)) WHERE host_id = ? AND seq > ? ORDER BY seq",
                                           arguments: [hostID, sealed])
            var result: [ExportedMetricsRow] = []
            var names: [String]?
            while let row = try rows.next() {
                let seq: Int64 = row[0]
                if let encoded = row[2] as Data? {
                    names = try encoded.withUnsafeBytes { buffer in try HeadRow.names(from: buffer) }
                }
                guard let columns = names else {
                    throw MetricsCodecError.corrupt("first live head row \(seq) at \(resolution.name) has no names")
                }
                let data: Data = row[3]
                let values = try data.withUnsafeBytes { buffer in
                    let count = try HeadRow.checkedCount(of: buffer, columns: columns.count)
                    return (0..<count).map { HeadRow.value(at: $0, in: buffer) }
                }
                result.append(ExportedMetricsRow(ms: row[1], names: columns, values: values))
            }
            return result
        }
    }

    /// Every host's latest full document.
    package func latestDocuments() throws -> [LatestDocument] {
        try self.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT hostname, ts, json FROM latest JOIN hosts ON hosts.id = latest.host_id ORDER BY hostname").map { row in
                let json: Data = row[2]
                return LatestDocument(hostname: row[0], timestamp: row[1], json: Array(json))
            }
        }
    }

    /// Closed rollup buckets still awaiting their recomputation after a back-fill.
    package func dirtyBuckets() throws -> [ExportedDirtyBucket] {
        try self.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT hostname, resolution, start_ms FROM rollup_dirty JOIN hosts ON hosts.id = rollup_dirty.host_id").compactMap { row in
                guard let resolution = MetricResolution(rawValue: row[1]) else { return nil }
                return ExportedDirtyBucket(hostname: row[0], resolution: resolution, startMs: row[2])
            }
        }
    }

    /// Rows per host and level: those of sealed blocks and the live head rows.
    package func rowCounts() throws -> [String: MetricsRowCounts] {
        try self.queue.read { db in
            var counts: [String: MetricsRowCounts] = [:]
            let names = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, hostname FROM hosts").map { ($0[0] as Int64, $0[1] as String) })
            for row in try Row.fetchAll(db, sql: "SELECT host_id, resolution, SUM(rows) FROM blocks GROUP BY host_id, resolution") {
                guard let hostname = names[row[0] as Int64], let resolution = MetricResolution(rawValue: row[1] as Int) else { continue }
                counts[hostname, default: .init()].levels[resolution.level] += row[2] as Int64
            }
            for resolution in MetricResolution.allCases {
                for row in try Row.fetchAll(db, sql: """
                    SELECT h.host_id, COUNT(*) FROM \(SQLiteMetricsStore.headTable(resolution)) h
                    LEFT JOIN head_sealed s ON s.host_id = h.host_id AND s.resolution = ?
                    WHERE h.seq > IFNULL(s.seq, 0) GROUP BY h.host_id
                    """, arguments: [resolution.rawValue]) {
                    guard let hostname = names[row[0] as Int64] else { continue }
                    counts[hostname, default: .init()].levels[resolution.level] += row[1] as Int64
                }
            }
            return counts
        }
    }
}
