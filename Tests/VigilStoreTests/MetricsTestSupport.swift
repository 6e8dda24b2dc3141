import Foundation
import GRDB
import Testing
@testable import VigilStore

/// A small deterministic generator (SplitMix64), so failing random tests reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A fresh SQLite metrics store in its own temporary directory, removed after `body`.
func withMetricsStore<T>(
    retention: MetricsRetention = .init(), rawBlockRows: Int = 120, minuteBlockRows: Int = 60, hourBlockRows: Int = 24,
    _ body: (SQLiteMetricsStore, URL) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { directory in
        let store = try SQLiteMetricsStore(directory: directory, retention: retention, rawBlockRows: rawBlockRows,
                                           minuteBlockRows: minuteBlockRows, hourBlockRows: hourBlockRows)
        return try await body(store, directory)
    }
}

/// Doubles compared bit for bit (NaN equals the same NaN, -0.0 differs from 0.0).
func bitsEqual(_ lhs: [Double], _ rhs: [Double]) -> Bool {
    lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { $0.bitPattern == $1.bitPattern }
}

/// 2024-01-01T00:00:00Z: a whole hour, so minute and hour buckets start at known offsets.
let metricsEpoch: Double = 1_704_067_200

/// Samples of one host every `interval` seconds from `start`, with `values(i)` for sample `i`.
func samples(host: String = "web-1", start: Double = metricsEpoch, interval: Double = 5, count: Int,
             names: [String] = ["cpu", "mem"], values: (Int) -> [Double]) -> [MetricSample] {
    (0..<count).map { index in
        MetricSample(hostname: host, timestamp: start + Double(index) * interval, names: names, values: values(index))
    }
}

/// The raw points that appending `samples` should produce for one series, in time order.
func expectedRawPoints(_ samples: [MetricSample], series: String) -> [SeriesPoint] {
    samples.compactMap { sample in
        sample.names.firstIndex(of: series).map { SeriesPoint(timestamp: sample.timestamp, value: sample.values[$0]) }
    }
}

/// The rollup points of `samples` for one series, computed independently of the stores' code.
func expectedRollup(_ samples: [MetricSample], series: String, bucketSeconds: Double) -> [SeriesPoint] {
    var buckets: [(start: Double, values: [Double])] = []
    for sample in samples {
        guard let index = sample.names.firstIndex(of: series), !sample.values[index].isNaN else { continue }
        let start = (sample.timestamp / bucketSeconds).rounded(.down) * bucketSeconds
        if buckets.last?.start == start {
            buckets[buckets.count - 1].values.append(sample.values[index])
        } else {
            buckets.append((start, [sample.values[index]]))
        }
    }
    return buckets.map { bucket in
        SeriesPoint(timestamp: bucket.start, min: bucket.values.min()!, max: bucket.values.max()!,
                    avg: bucket.values.reduce(0, +) / Double(bucket.values.count), last: bucket.values.last!, count: bucket.values.count)
    }
}

extension SQLiteMetricsStore {
    /// Sealed blocks and open-block rows per resolution, for tests that check sealing.
    func tableCounts() async throws -> (blocks: [MetricResolution: Int], head: [MetricResolution: Int]) {
        let blocks = try await self.pool.read { db in
            var blocks: [MetricResolution: Int] = [:]
            for resolution in MetricResolution.allCases {
                blocks[resolution] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blocks WHERE resolution = ?", arguments: [resolution.rawValue])
            }
            return blocks
        }
        let head = self.state.withLock { state in
            var head: [MetricResolution: Int] = [:]
            for resolution in MetricResolution.allCases {
                head[resolution] = state.hosts.values.reduce(0) { $0 + ($1.levels[resolution.level].open?.rows ?? 0) }
            }
            return head
        }
        return (blocks, head)
    }

    /// Rows in each head log, live or dead.
    func headLogRows() async throws -> [MetricResolution: Int] {
        try await self.pool.read { db in
            var rows: [MetricResolution: Int] = [:]
            for resolution in MetricResolution.allCases {
                rows[resolution] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(SQLiteMetricsStore.headTable(resolution))")
            }
            return rows
        }
    }
}

/// Points compared field by field, NaN equal to NaN (a raw NaN reading is stored as is).
func samePoints(_ lhs: [SeriesPoint], _ rhs: [SeriesPoint]) -> Bool {
    lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { a, b in
        a.timestamp == b.timestamp && a.count == b.count
            && bitsEqual([a.min, a.max, a.avg, a.last], [b.min, b.max, b.avg, b.last])
    }
}
