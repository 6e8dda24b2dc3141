/// A length of time as rules and silences spell it: `"500ms"`, `"30s"`, `"5m"`, `"1h30m"`, `"7d"`,
/// or a bare number of seconds. Encoded back in the shortest exact spelling (`"5m"`), so a rule
/// read from the API reads like the one written.
public struct AlertDuration: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Whole milliseconds (rules need no finer grain; an integer keeps comparisons exact).
    public var milliseconds: Int64

    public static let zero = AlertDuration(milliseconds: 0)
    /// The longest a rule may ask for (a year): bigger values are typos, and the bound keeps every
    /// conversion below far from overflow.
    public static let maximum = AlertDuration(milliseconds: 366 * 86_400_000)

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func seconds(_ s: Int64) -> AlertDuration { AlertDuration(milliseconds: s * 1000) }
    public static func minutes(_ m: Int64) -> AlertDuration { AlertDuration(milliseconds: m * 60_000) }

    public var seconds: Double { Double(self.milliseconds) / 1000 }

    private static let units: [(suffix: String, milliseconds: Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000),
    ]

    /// Parses `"1h30m"`, `"250ms"`, `"90"` (seconds). Nil for anything else, for negative values and
    /// for values beyond ``maximum``.
    public init?(parsing text: String) {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { return nil }
        if let seconds = Double(trimmed) {
            guard let duration = Self(seconds: seconds) else { return nil }
            self = duration
            return
        }
        var total: Int64 = 0
        var rest = Substring(trimmed)
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 12, let number = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let letters = rest.prefix { $0.isASCII && $0.isLetter }
            guard let unit = Self.units.first(where: { $0.suffix == letters }) else { return nil }
            rest = rest.dropFirst(letters.count)
            let (product, overflow) = number.multipliedReportingOverflow(by: unit.milliseconds)
            guard !overflow else { return nil }
            total += product
            guard total <= Self.maximum.milliseconds else { return nil }
        }
        self.milliseconds = total
    }

    /// From a number of seconds; nil when not finite, negative or beyond ``maximum`` (checked
    /// before converting: `Int64(1e300)` traps).
    public init?(seconds: Double) {
        guard seconds.isFinite, seconds >= 0, seconds <= Self.maximum.seconds else { return nil }
        self.milliseconds = Int64((seconds * 1000).rounded())
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            guard let duration = Self(seconds: number) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "a duration must be between 0 and 366d (got \(number))")
            }
            self = duration
            return
        }
        let text = try container.decode(String.self)
        guard let duration = Self(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a duration: \(text.debugDescription) (spell it like 30s, 5m, 1h30m, 500ms)")
        }
        self = duration
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }

    /// The shortest exact spelling: `5m`, `1h30m`, `1500ms`, `0s`.
    public var description: String {
        guard self.milliseconds != 0 else { return "0s" }
        if self.milliseconds % 1000 != 0 { return "\(self.milliseconds)ms" }
        var rest = self.milliseconds
        var text = ""
        for (suffix, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where rest >= size {
            text += "\(rest / size)\(suffix)"
            rest %= size
        }
        return text
    }

    public static func < (lhs: AlertDuration, rhs: AlertDuration) -> Bool { lhs.milliseconds < rhs.milliseconds }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = self.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
