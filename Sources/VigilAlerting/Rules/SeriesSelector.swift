import Foundation
import VigilMetrics

/// The series a threshold rule watches, as written (`cpu.percent`, `disk.partitions[*].percent`,
/// `io.network.interfaces[eth0].bytes_recv_per_sec`): an alias is resolved to its canonical name,
/// and one bracketed `*` matches every key there, so one rule covers every filesystem.
public struct SeriesSelector: Sendable, Hashable, CustomStringConvertible {
    /// As the rule spells it.
    public let text: String
    /// The canonical name or pattern.
    public let canonical: String
    /// For a pattern: what comes before and after the `*`.
    private let wildcard: (prefix: String, suffix: String)?

    public init(_ text: String) {
        self.text = text
        let canonical = MetricsDocument.canonicalSeriesName(text)
        self.canonical = canonical
        if let star = canonical.range(of: "[*]") {
            self.wildcard = (String(canonical[..<star.lowerBound]) + "[", "]" + String(canonical[star.upperBound...]))
        } else {
            self.wildcard = nil
        }
    }

    public static func == (lhs: SeriesSelector, rhs: SeriesSelector) -> Bool { lhs.canonical == rhs.canonical }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.canonical) }
    public var description: String { self.text }

    /// Whether the selector names one series rather than a family.
    public var isPattern: Bool { self.wildcard != nil }

    /// Whether a host's series `name` is one this selector watches.
    public func matches(_ name: String) -> Bool {
        guard let (prefix, suffix) = self.wildcard else { return name == self.canonical }
        return name.utf8.count > prefix.utf8.count + suffix.utf8.count && name.hasPrefix(prefix) && name.hasSuffix(suffix)
            && MetricsDocument.seriesPattern(of: name) == MetricsDocument.seriesPattern(of: self.canonical)
    }

    /// The bracketed key of a matched name (`/var` of `disk.partitions[/var].percent`), for labels
    /// and summaries; nil when the selector is not a pattern.
    public func key(of name: String) -> String? {
        guard let (prefix, suffix) = self.wildcard, self.matches(name) else { return nil }
        return String(name.dropFirst(prefix.count).dropLast(suffix.count))
    }

    /// Whether any document can produce a series this selector matches (the validation of "unknown series").
    public var isKnown: Bool {
        MetricsDocument.seriesPatterns.contains(MetricsDocument.seriesPattern(of: self.canonical))
    }

    /// The resource a series measures, which picks the process list a firing alert carries.
    public var resource: Resource? {
        let name = self.canonical
        if name.hasPrefix("cpu.cpu_percent") || name.hasPrefix("cpu.load_average") { return .cpu }
        if name.hasPrefix("memory.") { return .memory }
        if name.hasPrefix("io.disk_io") { return .io }
        return nil
    }

    /// What "the top processes" are sorted by.
    public enum Resource: String, Sendable {
        case cpu, memory, io
    }
}
