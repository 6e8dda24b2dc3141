#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import VigilMetrics

/// Runs the enabled collectors in order and assembles one document per sample.
///
/// A collector that throws leaves its section out; the others go on, and the failure is returned
/// so the caller can log it (the registry itself has no logger: it is a pure, testable value).
public struct CollectorRegistry: Sendable {
    /// Every collector this build has, by name, in the order they run.
    public static let allNames = ["cpu", "load", "memory", "filesystem", "diskio", "network", "system", "processes"]

    public private(set) var collectors: [any Collector]
    private var lastRun: [String: ContinuousClock.Instant] = [:]

    public init(collectors: [any Collector]) {
        self.collectors = collectors
    }

    /// The standard collectors reading the real system (or a copy of it under `root`).
    ///
    /// - Parameters:
    ///   - root: Where `proc/`, `sys/` and `etc/` are found; `/` on a real host, a fixture directory in tests.
    ///   - disabled: Names of collectors to leave out.
    ///   - topProcesses: How many processes to report by CPU and by memory.
    public static func standard(root: SystemRoot = SystemRoot(), disabled: Set<String> = [], topProcesses: Int = 10) -> CollectorRegistry {
        let all: [any Collector] = [
            CPUCollector(root: root), LoadCollector(root: root), MemoryCollector(root: root),
            FilesystemCollector(root: root), DiskIOCollector(root: root), NetworkCollector(root: root),
            SystemCollector(root: root), ProcessCollector(root: root, top: topProcesses),
        ]
        return CollectorRegistry(collectors: all.filter { !disabled.contains($0.name) })
    }

    /// One sample.
    /// - Returns: The document and the failures, by collector name.
    public mutating func sample(hostname: String?, at timestamp: Date = Date(), now: ContinuousClock.Instant = .now) -> (MetricsDocument, [String: CollectorError]) {
        var document = MetricsDocument(hostname: hostname, timestamp: timestamp)
        var failures: [String: CollectorError] = [:]
        for index in self.collectors.indices {
            let name = self.collectors[index].name
            let elapsed = self.lastRun[name].map { (now - $0).seconds }
            do {
                try self.collectors[index].collect(into: &document, elapsed: elapsed)
            } catch let error as CollectorError {
                failures[name] = error
            } catch {
                failures[name] = CollectorError("\(error)")
            }
            self.lastRun[name] = now
        }
        return (document, failures)
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
