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

    /// One sample line: `name{labels extra} value`. `labels` and `extra` are label text already
    /// rendered and escaped (``appendLabel(_:_:to:)``); `extra` starts with a comma when not empty.
    mutating func sample(_ name: StaticString, _ labels: UnsafeRawBufferPointer, _ extra: UnsafeRawBufferPointer, _ value: Double) {
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
        // One reservation per line, the pieces copied in: at 10,000 hosts this runs ~800,000
        // times a scrape, and a ByteBuffer write per piece (capacity and uniqueness checks each)
        // was much of the cost.
        let needed = name.utf8CodeUnitCount + labels.count + extra.count + 3 + Self.maxValueBytes + 1
        self.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: needed) { out in
            var at = Self.copy(name, into: out, at: 0)
            out[at] = UInt8(ascii: "{")
            at = Self.copy(labels, into: out, at: at + 1)
            at = Self.copy(extra, into: out, at: at)
            out[at] = UInt8(ascii: "}")
            out[at + 1] = UInt8(ascii: " ")
            at = Self.format(value, into: out, at: at + 2)
            out[at] = UInt8(ascii: "\n")
            return at + 1
        }
    }

    /// The longest value ``format(_:into:at:)`` writes (Swift's longest `Double` description is 24 bytes).
    static let maxValueBytes = 32

    /// A sample value, for tests and single values.
    mutating func writeValue(_ value: Double) {
        self.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.maxValueBytes) { Self.format(value, into: $0, at: 0) }
    }

    /// Writes a sample value at `start`; returns the index after it. Whole numbers below 2^53 and
    /// numbers from 0.01 up to 10^12 are written here with at most 6 decimals (the figures agents
    /// send carry fewer); anything else through Swift's shortest round-trip form, which Prometheus
    /// parses as well.
    static func format(_ value: Double, into out: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        if value.isNaN {
            return self.copy("NaN", into: out, at: start)
        }
        if value.isInfinite {
            return self.copy(value > 0 ? "+Inf" : "-Inf", into: out, at: start)
        }
        let magnitude = value.magnitude
        var at = start
        if magnitude < 9_007_199_254_740_992, value == value.rounded(.towardZero) {
            if value < 0 {
                out[at] = UInt8(ascii: "-")
                at += 1
            }
            return self.decimal(UInt64(magnitude), into: out, at: at)
        }
        guard magnitude >= 0.01, magnitude < 1e12 else {
            var text = value.description
            return text.withUTF8 { self.copy(UnsafeRawBufferPointer($0), into: out, at: start) }
        }
        let scaled = UInt64((magnitude * 1_000_000).rounded())
        if value < 0 {
            out[at] = UInt8(ascii: "-")
            at += 1
        }
        at = self.decimal(scaled / 1_000_000, into: out, at: at)
        var fraction = scaled % 1_000_000
        guard fraction > 0 else { return at }
        var digits = 6
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        out[at] = UInt8(ascii: ".")
        return self.decimal(fraction, width: digits, into: out, at: at + 1)
    }

    /// `value` in decimal, left-padded with zeros to `width` digits; returns the index after it.
    ///
    /// Two digits per division (a scrape at 10,000 hosts formats ~800,000 numbers), and the length
    /// from comparisons rather than a division per digit.
    static func decimal(_ value: UInt64, width: Int = 1, into out: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        var count = 1
        var threshold: UInt64 = 10
        while count < 20, value >= threshold {
            count += 1
            threshold &*= 10
        }
        count = max(count, width)
        var remaining = value
        var index = start + count
        while remaining >= 100 {
            let pair = remaining % 100
            remaining /= 100
            index -= 2
            out[index] = UInt8(ascii: "0") + UInt8(pair / 10)
            out[index + 1] = UInt8(ascii: "0") + UInt8(pair % 10)
        }
        if remaining >= 10 {
            index -= 2
            out[index] = UInt8(ascii: "0") + UInt8(remaining / 10)
            out[index + 1] = UInt8(ascii: "0") + UInt8(remaining % 10)
        } else {
            index -= 1
            out[index] = UInt8(ascii: "0") + UInt8(remaining)
        }
        while index > start {
            index -= 1
            out[index] = UInt8(ascii: "0")
        }
        return start + count
    }

    private static func copy(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return start }
        (out.baseAddress! + start).copyMemory(from: base, byteCount: bytes.count)
        return start + bytes.count
    }

    private static func copy(_ text: StaticString, into out: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        text.withUTF8Buffer { self.copy(UnsafeRawBufferPointer($0), into: out, at: start) }
    }

    /// Appends `name="value"` with the value escaped as the format requires: backslash, double
    /// quote and line feed. Anything else passes as it is (label values are UTF-8, which `String`
    /// guarantees).
    static func appendLabel(_ name: StaticString, _ value: String, to bytes: inout [UInt8]) {
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "="))
        bytes.append(UInt8(ascii: "\""))
        // Most values need no escaping: then one copy of their bytes.
        let copied = value.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            guard !utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        } ?? false
        if copied {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `name="value"`, escaped as ``appendLabel(_:_:to:)`` does.
    static func renderLabel(_ name: StaticString, _ value: String) -> String {
        var bytes: [UInt8] = []
        self.appendLabel(name, value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
