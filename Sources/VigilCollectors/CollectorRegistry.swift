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
