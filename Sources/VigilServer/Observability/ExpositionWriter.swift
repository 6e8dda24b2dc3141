import NIOCore

/// Writes the Prometheus text exposition format (version 0.0.4) straight into a `ByteBuffer`.
///
/// Made for ``FleetExposition``, which writes hundreds of thousands of lines per scrape at 10,000
/// hosts: numbers are formatted into the buffer's own memory rather than through `String`, and a
/// family's `# HELP`/`# TYPE` lines are written only once it has a first sample (a family with no
/// sample, e.g. swap on a fleet without swap data, is left out rather than printed empty).
struct ExpositionWriter {
    private(set) var buffer: ByteBuffer
    private var pending: (name: StaticString, type: StaticString, help: StaticString)?

    init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// Starts a metric family: its header is written before its first sample.
    mutating func family(_ name: StaticString, _ type: StaticString, _ help: StaticString) {
        self.pending = (name, type, help)
    }

    /// One sample line: `name{labels} value`; `labels` is already rendered (``renderLabel(_:_:)``).
    mutating func sample(_ name: StaticString, _ labels: String, _ value: Double) {
        self.sample(name, labels, "", value)
    }

    /// One sample line: `name{labels extra} value`. `labels` and `extra` are already rendered
    /// (``renderLabel(_:_:)``); `extra` starts with a comma when not empty.
    mutating func sample(_ name: StaticString, _ labels: String, _ extra: String, _ value: Double) {
        if let header = self.pending {
            self.pending = nil
            self.buffer.writeStaticString("# HELP ")
            self.buffer.writeStaticString(header.name)
            self.buffer.writeStaticString(" ")
            self.buffer.writeStaticString(header.help)
            self.buffer.writeStaticString("\n# TYPE ")
            self.buffer.writeStaticString(header.name)
            self.buffer.writeStaticString(" ")
            self.buffer.writeStaticString(header.type)
            self.buffer.writeStaticString("\n")
        }
        self.buffer.writeStaticString(name)
        self.buffer.writeStaticString("{")
        self.buffer.writeString(labels)
        if !extra.isEmpty { self.buffer.writeString(extra) }
        self.buffer.writeStaticString("} ")
        self.writeValue(value)
        self.buffer.writeStaticString("\n")
    }

    /// A sample value. Whole numbers below 2^53 and numbers from 0.01 up to 10^12 are written
    /// here with at most 6 decimals (the figures agents send carry fewer); anything else
    /// through Swift's shortest round-trip form, which Prometheus parses as well.
    mutating func writeValue(_ value: Double) {
        if value.isNaN {
            self.buffer.writeStaticString("NaN")
            return
        }
        if value.isInfinite {
            self.buffer.writeStaticString(value > 0 ? "+Inf" : "-Inf")
            return
        }
        let magnitude = value.magnitude
        if magnitude < 9_007_199_254_740_992, value == value.rounded(.towardZero) {
            if value < 0 { self.buffer.writeStaticString("-") }
            self.writeDecimal(UInt64(magnitude))
            return
        }
        guard magnitude >= 0.01, magnitude < 1e12 else {
            self.buffer.writeString(value.description)
            return
        }
        let scaled = UInt64((magnitude * 1_000_000).rounded())
        if value < 0 { self.buffer.writeStaticString("-") }
        self.writeDecimal(scaled / 1_000_000)
        var fraction = scaled % 1_000_000
        guard fraction > 0 else { return }
        var digits = 6
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        self.buffer.writeStaticString(".")
        self.writeDecimal(fraction, width: digits)
    }

    /// `value` in decimal, left-padded with zeros to `width` digits.
    mutating func writeDecimal(_ value: UInt64, width: Int = 1) {
        var count = 1
        var rest = value / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        count = max(count, width)
        self.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { bytes in
            var remaining = value
            var index = count - 1
            while index >= 0 {
                bytes[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
                index -= 1
            }
            return count
        }
    }

    /// `name="value"` with the value escaped as the format requires: backslash, double quote and
    /// line feed. Anything else passes as it is (label values are UTF-8, which `String` guarantees).
    static func renderLabel(_ name: String, _ value: String) -> String {
        var rendered = name
        rendered.reserveCapacity(name.utf8.count + value.utf8.count + 3)
        rendered += "=\""
        if value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) {
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\\": rendered += "\\\\"
                case "\"": rendered += "\\\""
                case "\n": rendered += "\\n"
                default: rendered.unicodeScalars.append(scalar)
                }
            }
        } else {
            rendered += value
        }
        rendered += "\""
        return rendered
    }
}
