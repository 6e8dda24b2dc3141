import Foundation
import GRDB

/// Reads the server's `metrics.sqlite` after the server has stopped, to split the history's size
/// into sealed (compressed) blocks and open-block head rows (8 bytes a value, not yet compressed),
/// which `GET /api/storage` adds up. Read-only; the layout is the one of
/// `SQLiteMetricsStore+Migrations.swift` (`blocks`, and the head logs `head_raw`, `head_minute`,
/// `head_hour`, counted whole: rows of blocks already sealed but not yet truncated included).
enum StoreInspector {
    struct Part: Codable, Sendable {
        var values: Int64
        var bytes: Int64
        var rows: Int64
        var bytesPerValue: Double?

        init(values: Int64, bytes: Int64, rows: Int64) {
            self.values = values
            self.bytes = bytes
            self.rows = rows
            self.bytesPerValue = values == 0 ? nil : Double(bytes) / Double(values)
        }
    }

    struct Breakdown: Codable, Sendable {
        /// Sealed raw blocks: the compressed form.
        var rawBlocks: Part
        /// Raw samples of open blocks (head rows), uncompressed.
        var rawHead: Part
        var rollupBlocks: Part
        var rollupHead: Part
        /// Sealed raw blocks of the given hosts only (the deep hosts: a full day each).
        var deepRawBlocks: Part
        var fileBytes: Int64

        enum CodingKeys: String, CodingKey {
            case rawBlocks = "raw_blocks"
            case rawHead = "raw_head"
            case rollupBlocks = "rollup_blocks"
            case rollupHead = "rollup_head"
            case deepRawBlocks = "deep_raw_blocks"
            case fileBytes = "file_bytes"
        }
    }

    static func breakdown(dataDirectory: String, deepHosts: [String]) throws -> Breakdown {
        let path = dataDirectory + "/metrics.sqlite"
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        let fileBytes = [path, path + "-wal"].reduce(Int64(0)) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0)
        }
        return try queue.read { db in
            func part(_ sql: String, _ arguments: StatementArguments = []) throws -> Part {
                // SUM over no rows is NULL.
                guard let row = try Row.fetchOne(db, sql: sql, arguments: arguments) else { return Part(values: 0, bytes: 0, rows: 0) }
                let values: Int64? = row[0]
                let bytes: Int64? = row[1]
                let rows: Int64? = row[2]
                return Part(values: values ?? 0, bytes: bytes ?? 0, rows: rows ?? 0)
            }
            let placeholders = deepHosts.map { _ in "?" }.joined(separator: ",")
            return Breakdown(
                rawBlocks: try part("SELECT SUM(rows * columns), SUM(bytes), SUM(rows) FROM blocks WHERE resolution = 0"),
                rawHead: try part("SELECT SUM(length(data) / 8), SUM(length(data) + IFNULL(length(names), 0)), COUNT(*) FROM head_raw"),
                rollupBlocks: try part("SELECT SUM(rows * columns), SUM(bytes), SUM(rows) FROM blocks WHERE resolution > 0"),
                rollupHead: try part("SELECT SUM(length(data) / 8), SUM(length(data) + IFNULL(length(names), 0)), COUNT(*) FROM (SELECT data, names FROM head_minute UNION ALL SELECT data, names FROM head_hour)"),
                deepRawBlocks: deepHosts.isEmpty ? Part(values: 0, bytes: 0, rows: 0) : try part(
                    "SELECT SUM(rows * columns), SUM(bytes), SUM(rows) FROM blocks JOIN hosts ON hosts.id = blocks.host_id WHERE resolution = 0 AND hostname IN (\(placeholders))",
                    StatementArguments(deepHosts)),
                fileBytes: fileBytes)
        }
    }
}
