#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Date {
    /// Reads the date-times that clients written from the original designs send, besides strict
    /// ISO 8601: `2026-12-07T10:07:40.310195` (Python's `datetime.isoformat()`: no zone,
    /// microseconds) and `2026-12-07 09:47:00` (`strftime('%Y-%m-%d %H:%M:%S')`).
    ///
    /// The form is `YYYY-MM-DD`, then `T` or a space, `HH:MM` or `HH:MM:SS`, an optional fraction
    /// of any length after `.` or `,`, and an optional zone: `Z`, `±HH:MM`, `±HHMM` or `±HH`.
    /// **A date-time without a zone is UTC** (OPERATIONS.md, "The original metrics agent"): the
    /// server cannot know the sender's zone, and hosts that report to a monitor run on UTC.
    ///
    /// - Returns: `nil` for anything else, including out-of-range fields (month 13, second 61).
    public init?(lenientISO8601 text: String) {
        var scanner = DigitScanner(Array(text.utf8))
        guard let year = scanner.number(digits: 4), scanner.take(UInt8(ascii: "-")),
              let month = scanner.number(digits: 2), scanner.take(UInt8(ascii: "-")),
              let day = scanner.number(digits: 2),
              scanner.take(UInt8(ascii: "T")) || scanner.take(UInt8(ascii: "t")) || scanner.take(UInt8(ascii: " ")),
              let hour = scanner.number(digits: 2), scanner.take(UInt8(ascii: ":")),
              let minute = scanner.number(digits: 2)
        else { return nil }
        var second = 0
        if scanner.take(UInt8(ascii: ":")) {
            guard let value = scanner.number(digits: 2) else { return nil }
            second = value
        }
        var fraction = 0.0
        if scanner.take(UInt8(ascii: ".")) || scanner.take(UInt8(ascii: ",")) {
            guard let value = scanner.fraction() else { return nil }
            fraction = value
        }
        var offsetSeconds = 0
        if scanner.take(UInt8(ascii: "Z")) || scanner.take(UInt8(ascii: "z")) {
            // UTC
        } else if let sign = scanner.sign() {
            guard let hours = scanner.number(digits: 2), hours <= 23 else { return nil }
            var minutes = 0
            if scanner.take(UInt8(ascii: ":")) {
                guard let value = scanner.number(digits: 2) else { return nil }
                minutes = value
            } else if let value = scanner.number(digits: 2) {
                minutes = value
            }
            guard minutes <= 59 else { return nil }
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        }
        guard scanner.atEnd, (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day),
              hour <= 23, minute <= 59, second <= 60  // 60: a leap second, counted as the next second's start
        else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let seconds = Double(days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds) + fraction
        self = Date(timeIntervalSince1970: seconds)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-Compatible
    /// Low-Level Date Algorithms", days_from_civil).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

/// Reads fixed-width decimal fields from ASCII bytes.
private struct DigitScanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { self.index == self.bytes.count }

    mutating func take(_ byte: UInt8) -> Bool {
        guard self.index < self.bytes.count, self.bytes[self.index] == byte else { return false }
        self.index += 1
        return true
    }

    /// Exactly `digits` decimal digits.
    mutating func number(digits: Int) -> Int? {
        guard self.index + digits <= self.bytes.count else { return nil }
        var value = 0
        for byte in self.bytes[self.index..<(self.index + digits)] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        self.index += digits
        return value
    }

    /// One or more digits after the decimal point, as a fraction of a second. Digits past the
    /// 15th cannot change a Double and are skipped (a thousand digits cost nothing).
    mutating func fraction() -> Double? {
        var value = 0.0
        var scale = 1.0
        var count = 0
        while self.index < self.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[self.index]) {
            if count < 15 {
                scale /= 10
                value += Double(self.bytes[self.index] - UInt8(ascii: "0")) * scale
            }
            count += 1
            self.index += 1
        }
        return count > 0 ? value : nil
    }

    mutating func sign() -> Int? {
        if self.take(UInt8(ascii: "+")) { return 1 }
        if self.take(UInt8(ascii: "-")) { return -1 }
        return nil
    }
}
