import Foundation

/// Threshold rules on the series the simulated hosts send, for `ingest --rules N`: realistic
/// thresholds that the simulated figures stay under, so the cost measured is evaluation, not
/// notification. Pattern rules (`[*]`) track one condition per filesystem or interface.
enum AlertingRules {
    static let catalogue: [String] = [
        "{name: cpu_high, series: cpu.percent, aggregate: avg, window: 1m, threshold: 99.5, recovery: 95, for: 5m}",
        "{name: memory_high, series: memory.percent, aggregate: avg, window: 1m, threshold: 99.5, recovery: 95, for: 3m}",
        "{name: filesystem_full, series: 'disk.partitions[*].percent', aggregate: last, threshold: 99.5, recovery: 98, for: 5m}",
        "{name: load_high, series: load.1, aggregate: max, window: 5m, threshold: 1000, for: 10m}",
        "{name: load_sustained, series: load.15, aggregate: avg, window: 15m, threshold: 1000}",
        "{name: swap_high, series: swap.percent, aggregate: avg, window: 5m, threshold: 99.5, for: 10m}",
        "{name: net_in, series: network.bytes_recv_per_sec, aggregate: avg, window: 1m, threshold: 1e15, for: 2m}",
        "{name: net_out, series: network.bytes_sent_per_sec, aggregate: avg, window: 1m, threshold: 1e15, for: 2m}",
        "{name: disk_read, series: disk_io.read_bytes_per_sec, aggregate: max, window: 1m, threshold: 1e15, for: 2m}",
        "{name: cpu_idle_low, series: cpu.percent, aggregate: min, window: 5m, op: '<', threshold: -1, for: 5m}",
        "{name: disk_write, series: disk_io.write_bytes_per_sec, aggregate: max, window: 1m, threshold: 1e15, for: 2m}",
        "{name: interface_errors, series: 'io.network.interfaces[*].errin', aggregate: last, threshold: 1e15}",
    ]

    /// Writes an alerting file with the first `count` rules; returns its path.
    static func write(count: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-rules-\(UUID().uuidString).yaml").path
        let text = "rules:\n" + self.catalogue.prefix(count).map { "  - \($0)\n" }.joined()
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
