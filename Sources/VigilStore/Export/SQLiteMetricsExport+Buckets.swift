import Foundation
import GRDB

extension SQLiteMetricsExport {
    /// Whether a rollup bucket that awaits its recomputation will have a row once recomputed
    /// (raw samples fall in it) that it has not now: the copy recomputes it, so the verification
    /// expects one row more at that level than SQLite holds.
    package func bucketGainsRow(_ bucket: ExportedDirtyBucket, hostID: Int64) throws -> Bool {
        let end = bucket.startMs + MetricTime.bucketMilliseconds(bucket.resolution) - 1
        let stored = try self.hasRow(hostID: hostID, resolution: bucket.resolution, range: bucket.startMs...bucket.startMs)
        return try !stored && self.hasRow(hostID: hostID, resolution: .raw, range: bucket.startMs...end)
    }

    /// Whether a host has a row of a level within `range`, sealed or live.
    func hasRow(hostID: Int64, resolution: MetricResolution, range: ClosedRange<Int64>) throws -> Bool {
        try self.read { db in
            let sealed = try Int64.fetchOne(db, sql: "SELECT seq FROM head_sealed WHERE host_id = ? AND resolution = ?",
                                            arguments: [hostID, resolution.rawValue]) ?? 0
            if try Bool.fetchOne(db, sql: """
                SELECT EXISTS(SELECT 1 FROM \(SQLiteMetricsStore.headTable(resolution)) WHERE host_id = ? AND seq > ? AND ts_ms BETWEEN ? AND ?)
                """, arguments: [hostID, sealed, range.lowerBound, range.upperBound]) == true {
                return true
            }
            let blocks = try Row.fetchAll(db, sql: """
                SELECT data FROM blocks JOIN block_data ON block_data.id = blocks.data_id
                WHERE host_id = ? AND resolution = ? AND start_ms <= ? AND end_ms >= ?
                """, arguments: [hostID, resolution.rawValue, range.upperBound, range.lowerBound])
            for row in blocks {
                let data: Data = row[0]
                let found = try data.withUnsafeBytes { buffer in
                    try MetricsBlockReader(buffer).timestamps().contains { range.contains($0) }
                }
                if found { return true }
            }
            return false
        }
    }
}
