import Foundation
import GRDB
import Testing
@testable import VigilStore

/// Ingest and size figures for ``SQLiteMetricsStore`` at fleet scale. Not a test: it asserts
/// nothing about speed and takes minutes, so it only runs with `VIGIL_MEASURE=1`, best in release:
///
/// ```
/// VIGIL_MEASURE=1 swift test -c release -Xswiftc -enable-testing --filter MetricsMeasurement
/// ```
///
/// `VIGIL_MEASURE_HOSTS` and `VIGIL_MEASURE_SAMPLES` shrink it (defaults 1000 and 720).
@Suite("Metrics measurement", .enabled(if: ProcessInfo.processInfo.environment["VIGIL_MEASURE"] == "1"))
struct MetricsMeasurement {
    /// About a hundred series of one host, shaped like the metrics document's.
    struct Fleet {
        let hosts: Int
        let names: [String]
        var random = SeededGenerator(seed: 2024)
        var counters: [[Double]]
        var rates: [[Double]]
        var gauges: [[Double]]
        let constants: [[Double]]

        static let constantCount = 12, counterCount = 28, percentCount = 36, floatCount = 24

        init(hosts: Int) {
            self.hosts = hosts
            var names: [String] = []
            names += (0..<Self.constantCount).map { "system.total[\($0)]" }
            names += (0..<Self.counterCount).map { "net.interfaces[eth\($0 / 4)].counter\($0 % 4)_bytes" }
            names += (0..<Self.percentCount).map { "cpu.cores[\($0)].percent" }
            names += (0..<Self.floatCount).map { "disk.devices[sd\($0)].read_rate" }
            self.names = names
            var random = SeededGenerator(seed: 1)
            self.constants = (0..<hosts).map { _ in (0..<Self.constantCount).map { _ in Double(Int.random(in: 1...(1 << 40), using: &random)) } }
            self.counters = (0..<hosts).map { _ in (0..<Self.counterCount).map { _ in Double(Int.random(in: 0...(1 << 44), using: &random)) } }
            self.rates = (0..<hosts).map { _ in (0..<Self.counterCount).map { _ in Double(Int.random(in: 1_000...5_000_000, using: &random)) } }
            self.gauges = (0..<hosts).map { _ in (0..<Self.percentCount).map { _ in Double.random(in: 0...100, using: &random) } }
        }

        /// The samples of every host at step `step` (5 s apart, a few ms of jitter).
        mutating func batch(step: Int) -> [MetricSample] {
            (0..<self.hosts).map { host in
                var values = self.constants[host]
                values.reserveCapacity(self.names.count)
                for index in 0..<Self.counterCount {
                    // Byte counters grow at a rate that jitters by ±10 %.
                    let rate = self.rates[host][index] * Double.random(in: 0.9...1.1, using: &self.random)
                    self.counters[host][index] += (rate * 5).rounded()
                    values.append(self.counters[host][index])
                }
                for index in 0..<Self.percentCount {
                    // Percentages wander and are rounded to hundredths, as the collectors report them.
                    let next = self.gauges[host][index] + Double.random(in: -3...3, using: &self.random)
                    self.gauges[host][index] = Swift.min(100, Swift.max(0, next))
                    values.append((self.gauges[host][index] * 100).rounded() / 100)
                }
                for _ in 0..<Self.floatCount {
                    values.append(Double.random(in: 0...200_000_000, using: &self.random) / 7)
                }
                let timestamp = metricsEpoch + Double(host) / 1000 + Double(step * 5) + Double(Int.random(in: -3...3, using: &self.random)) / 1000
                return MetricSample(hostname: "host-\(host)", timestamp: timestamp, names: self.names, values: values)
            }
        }
    }

    /// CPU time of the whole process (all threads, GRDB's writer included).
    static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    @Test("ingest rate and bytes per value at fleet scale")
    func ingest() async throws {
        let environment = ProcessInfo.processInfo.environment
        let hosts = environment["VIGIL_MEASURE_HOSTS"].flatMap(Int.init) ?? 1000
        let steps = environment["VIGIL_MEASURE_SAMPLES"].flatMap(Int.init) ?? 720
        try await withMetricsStore { store, _ in
            var fleet = Fleet(hosts: hosts)
            let clock = ContinuousClock()
            var elapsed = Duration.zero
            var cpu = 0.0
            var samples = 0
            for step in 0..<steps {
                // Batches of 1,000 samples: every host's sample of one 5 s interval.
                let all = fleet.batch(step: step)
                for start in stride(from: 0, to: all.count, by: 1000) {
                    let batch = Array(all[start..<Swift.min(start + 1000, all.count)])
                    let began = clock.now
                    let cpuBegan = Self.processCPUSeconds()
                    samples += try await store.append(batch)
                    elapsed += clock.now - began
                    cpu += Self.processCPUSeconds() - cpuBegan
                }
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let series = fleet.names.count
            let sealed = try await store.pool.read { db in
                try Row.fetchOne(db, sql: "SELECT COUNT(*), SUM(rows * columns), SUM(bytes) FROM blocks WHERE resolution = 0")
                    .map { [$0[0], $0[1], $0[2]] as [Int64] } ?? []
            }
            let statistics = try await store.statistics()
            // Stream bytes per value by shape, from host-0's first sealed raw block.
            let shapes = try await store.pool.read { db -> String in
                guard let data = try Data.fetchOne(db, sql: """
                    SELECT data FROM blocks JOIN block_data ON block_data.id = data_id
                    WHERE host_id = (SELECT id FROM hosts WHERE hostname = 'host-0') AND resolution = 0 ORDER BY start_ms LIMIT 1
                    """) else { return "no sealed block" }
                return try Array(data).withUnsafeBytes { buffer in
                    let reader = try MetricsBlockReader(buffer)
                    let rows = Double(reader.rowCount)
                    var ranges: [(String, Range<Int>)] = []
                    var start = 0
                    for (name, count) in [("constant", Fleet.constantCount), ("counter", Fleet.counterCount), ("percent", Fleet.percentCount), ("float", Fleet.floatCount)] {
                        ranges.append((name, start..<(start + count)))
                        start += count
                    }
                    let timestamps = String(format: "timestamps %.2f bytes/row, ", Double(reader.timestampRange.count) / rows)
                    return timestamps + ranges.map { name, columns in
                        let bytes = columns.reduce(0) { $0 + reader.streamRanges[$1].count }
                        return "\(name) \(String(format: "%.2f", Double(bytes) / (rows * Double(columns.count))))"
                    }.joined(separator: ", ") + " (bytes/value, \(reader.rowCount) rows, \(buffer.count) bytes in all)"
                }
            }

            var queryElapsed = Duration.zero
            let queryHosts = Swift.min(100, hosts)
            var points = 0
            for host in 0..<queryHosts {
                let began = clock.now
                points += try await store.points(hostname: "host-\(host)", series: fleet.names[40], from: 0, to: .infinity, resolution: .raw).count
                queryElapsed += clock.now - began
            }
            let querySeconds = Double(queryElapsed.components.seconds) + Double(queryElapsed.components.attoseconds) / 1e18

            print("""
                metrics measurement: \(hosts) hosts × \(steps) samples × \(series) series, batches of 1000
                  stored samples: \(samples) in \(String(format: "%.2f", seconds)) s
                  ingest: \(Int(Double(samples) / seconds)) samples/s, \(Int(Double(samples * series) / seconds)) values/s (wall clock)
                  process CPU while appending: \(String(format: "%.2f", cpu)) s = \(String(format: "%.1f", cpu / Double(samples) * 1e6)) µs/sample
                  by shape: \(shapes)
                  sealed raw blocks: \(sealed[0]) blocks, \(sealed[1]) values, \(sealed[2]) bytes = \(String(format: "%.3f", Double(sealed[2]) / Double(sealed[1]))) bytes/value
                  raw level (with head rows): \(statistics.raw.values) values, \(statistics.raw.bytes) bytes
                  minute level: \(statistics.minute.values) values, \(statistics.minute.bytes) bytes, \(statistics.minute.blocks) blocks
                  hour level: \(statistics.hour.values) values, \(statistics.hour.bytes) bytes
                  files (metrics.sqlite + wal): \(statistics.fileBytes) bytes
                  query: one series, all raw points of \(queryHosts) hosts: \(points) points in \(String(format: "%.1f", querySeconds * 1000)) ms
                """)
            #expect(samples == hosts * steps)
            #expect(statistics.raw.values == Int64(samples * series))
        }
    }
}
