#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import VigilMetrics

/// One source of figures (node_exporter's `collector` shape): reads the kernel's files and fills
/// its section of the document. Collectors that report rates keep the previous raw sample, so
/// they are mutable values owned by one ``CollectorRegistry``.
public protocol Collector: Sendable {
    /// The name used in configuration (`collectors.disabled`) and logs, e.g. `memory`.
    var name: String { get }

    /// Reads the current figures into `document`.
    ///
    /// - Parameters:
    ///   - document: The sample being built.
    ///   - elapsed: Seconds since this collector's previous call (`nil` on the first), for rates.
    /// - Throws: ``CollectorError`` when the source cannot be read; the registry logs it and goes on.
    mutating func collect(into document: inout MetricsDocument, elapsed: Double?) throws
}

/// Why a collector produced nothing this time.
public struct CollectorError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
