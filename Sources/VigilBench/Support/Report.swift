import Foundation

/// Prints a report as aligned `label  value` lines under section titles, or the same figures as
/// one JSON object (`--json`) for scripts.
struct ReportPrinter {
    private var lines: [(label: String, value: String)?] = []

    mutating func section(_ title: String) {
        if !self.lines.isEmpty { self.lines.append(nil) }
        self.lines.append((title, ""))
    }

    mutating func row(_ label: String, _ value: String) {
        self.lines.append(("  " + label, value))
    }

    func render() -> String {
        let width = self.lines.compactMap { $0?.value.isEmpty == false ? $0?.label.count : nil }.max() ?? 0
        return self.lines.map { line in
            guard let line else { return "" }
            guard !line.value.isEmpty else { return line.label }
            return line.label.padding(toLength: width + 2, withPad: " ", startingAt: 0) + line.value
        }.joined(separator: "\n")
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// Number formatting for reports.
enum Format {
    static func number(_ value: Double, _ decimals: Int = 0) -> String {
        let text = String(format: "%.\(decimals)f", value)
        // Thousands separators on the integer part, for readability (10,000 hosts).
        let parts = text.split(separator: ".", maxSplits: 1)
        var integer = String(parts[0])
        let negative = integer.hasPrefix("-")
        if negative { integer.removeFirst() }
        var grouped = ""
        for (index, character) in integer.reversed().enumerated() {
            if index > 0 && index % 3 == 0 { grouped.append(",") }
            grouped.append(character)
        }
        return (negative ? "-" : "") + String(grouped.reversed()) + (parts.count > 1 ? "." + parts[1] : "")
    }

    static func number(_ value: Int) -> String { self.number(Double(value)) }
    static func number(_ value: Int64) -> String { self.number(Double(value)) }

    static func mebibytes(_ bytes: Int64) -> String { self.number(Double(bytes) / 1_048_576, 1) + " MiB" }

    static func milliseconds(_ value: Double) -> String { String(format: "%.2f ms", value) }
}

/// The machine's load, so a reader can tell a quiet run from one that shared the cores.
struct MachineLoad: Codable, Sendable {
    var loadAverage1m: Double
    var loadAverage5m: Double
    var cores: Int

    static func now() -> MachineLoad {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        let fields = text.split(separator: " ").compactMap { Double($0) }
        return MachineLoad(loadAverage1m: fields.first ?? -1, loadAverage5m: fields.count > 1 ? fields[1] : -1, cores: ProcessInfo.processInfo.activeProcessorCount)
    }
}
