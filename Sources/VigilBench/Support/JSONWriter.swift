import NIOCore

/// Appends JSON text straight into a `ByteBuffer`, without `Encodable` and without building
/// intermediate strings for numbers: the load generator writes one METRICS envelope per simulated
/// sample (hundreds of thousands per run) on a 2-core machine it shares with the server, so every
/// microsecond it spends is taken from the server under test.
///
/// Keys and fixed text are `StaticString`s written as raw bytes; the caller is responsible for
/// the structure (commas, braces), which ``SampleGenerator`` lays out by hand.
struct JSONWriter {
    var buffer: ByteBuffer

    init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// Raw bytes (punctuation, a pre-quoted key).
    @inline(__always)
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { _ = self.buffer.writeBytes($0) }
    }

    /// `"key":`
    @inline(__always)
    mutating func key(_ name: StaticString) {
        self.buffer.writeInteger(UInt8(ascii: "\""))
        name.withUTF8Buffer { _ = self.buffer.writeBytes($0) }
        self.buffer.writeInteger(UInt8(ascii: "\""))
        self.buffer.writeInteger(UInt8(ascii: ":"))
    }

    /// A string the caller knows needs no escaping (host, device and process names made up here).
    @inline(__always)
    mutating func string(_ text: String) {
        self.buffer.writeInteger(UInt8(ascii: "\""))
        self.buffer.writeString(text)
        self.buffer.writeInteger(UInt8(ascii: "\""))
    }

    @inline(__always)
    mutating func string(_ text: StaticString) {
        self.buffer.writeInteger(UInt8(ascii: "\""))
        text.withUTF8Buffer { _ = self.buffer.writeBytes($0) }
        self.buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// A non-negative integer in decimal.
    mutating func integer(_ value: UInt64) {
        if value < 10 {
            self.buffer.writeInteger(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
            return
        }
        // At most 20 digits; written back to front into a small stack tuple.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { scratch in
            while rest > 0 {
                count += 1
                scratch[24 - count] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            }
            _ = self.buffer.writeBytes(UnsafeRawBufferPointer(UnsafeMutableRawBufferPointer(rebasing: scratch[(24 - count)...])))
        }
    }

    @inline(__always)
    mutating func integer(_ value: Int) {
        if value < 0 {
            self.buffer.writeInteger(UInt8(ascii: "-"))
            self.integer(UInt64(value.magnitude))
        } else {
            self.integer(UInt64(value))
        }
    }

    /// A value rounded to 0.01, written without trailing zeros (`12.5`, `3`, `0.07`), as a
    /// collector's `(x * 100).rounded() / 100` prints through a JSON encoder.
    mutating func hundredths(_ value: Double) {
        let cents = (value * 100).rounded()
        guard cents.magnitude < 9.0e15 else {
            self.double(value)
            return
        }
        var scaled = Int64(cents)
        if scaled < 0 {
            self.buffer.writeInteger(UInt8(ascii: "-"))
            scaled = -scaled
        }
        self.integer(UInt64(scaled / 100))
        let fraction = Int(scaled % 100)
        if fraction != 0 {
            self.buffer.writeInteger(UInt8(ascii: "."))
            self.buffer.writeInteger(UInt8(ascii: "0") &+ UInt8(fraction / 10))
            if fraction % 10 != 0 {
                self.buffer.writeInteger(UInt8(ascii: "0") &+ UInt8(fraction % 10))
            }
        }
    }

    /// Any finite double in its shortest round-trip form (what the real collectors' rates are:
    /// a counter delta over a measured interval, not rounded).
    mutating func double(_ value: Double) {
        precondition(value.isFinite, "JSON has no non-finite numbers")
        self.buffer.writeString(value.description)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` for Unix milliseconds (ISO 8601, as `MetricsDocument` encodes it).
    mutating func iso8601(milliseconds: Int64) {
        let ms = Int(milliseconds % 1000)
        let seconds = Int(milliseconds / 1000)
        let days = seconds / 86_400
        let secondOfDay = seconds % 86_400
        let (year, month, day) = Self.civilDate(daysSinceEpoch: days)
        self.buffer.writeInteger(UInt8(ascii: "\""))
        self.digits(year, width: 4)
        self.buffer.writeInteger(UInt8(ascii: "-"))
        self.digits(month, width: 2)
        self.buffer.writeInteger(UInt8(ascii: "-"))
        self.digits(day, width: 2)
        self.buffer.writeInteger(UInt8(ascii: "T"))
        self.digits(secondOfDay / 3600, width: 2)
        self.buffer.writeInteger(UInt8(ascii: ":"))
        self.digits(secondOfDay / 60 % 60, width: 2)
        self.buffer.writeInteger(UInt8(ascii: ":"))
        self.digits(secondOfDay % 60, width: 2)
        self.buffer.writeInteger(UInt8(ascii: "."))
        self.digits(ms, width: 3)
        self.buffer.writeInteger(UInt8(ascii: "Z"))
        self.buffer.writeInteger(UInt8(ascii: "\""))
    }

    private mutating func digits(_ value: Int, width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            self.buffer.writeInteger(UInt8(ascii: "0") &+ UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Howard Hinnant's `civil_from_days` (proleptic Gregorian calendar, days since 1970-01-01).
    static func civilDate(daysSinceEpoch: Int) -> (year: Int, month: Int, day: Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
