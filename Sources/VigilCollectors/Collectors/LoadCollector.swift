#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import VigilMetrics

/// The 1, 5 and 15 minute load averages of /proc/loadavg (node_exporter's `loadavg`), stored in
/// the cpu section as `load_average`.
///
/// ``CPUCollector`` normally runs first and creates the cpu section. If it has not (disabled or
/// failing), this collector creates the section itself, with the logical CPU count taken from the
/// `cpuN` lines of /proc/stat and nothing else; if that count cannot be read either, it fails
/// rather than report a CPU count of 0.
public struct LoadCollector: Collector {
    public var name: String { "load" }

    public var root: SystemRoot

    public init(root: SystemRoot = SystemRoot()) {
        self.root = root
    }

    public mutating func collect(into document: inout MetricsDocument, elapsed: Double?) throws {
        let load = try Self.parseLoadavg(try self.root.read("proc/loadavg"))
        if document.cpu != nil {
            document.cpu?.loadAverage = load
        } else {
            let sample = try CPUCollector.parseStat(try self.root.read("proc/stat"))
            document.cpu = MetricsDocument.CPU(cpuCountLogical: sample.cores.count, loadAverage: load)
        }
    }

    /// `0.69 1.15 1.53 1/117 4253` → `[0.69, 1.15, 1.53]`.
    static func parseLoadavg(_ text: String) throws -> [Double] {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).prefix(3)
        let values = fields.compactMap { Double($0) }
        guard values.count == 3, values.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw CollectorError("malformed proc/loadavg: \(text.prefix(80))")
        }
        return values
    }
}
