extension String {
    /// This text as a quoted literal that is safe in a log line, for every value a peer chose.
    ///
    /// Like `debugDescription` (quotes, `\"`, `\\`, `\n`, `\r`, `\t`, `\u{1B}`), and further escapes
    /// what `debugDescription` lets through: C1 controls such as NEL (U+0085), format characters
    /// such as the bidi overrides (U+202A–U+202E, U+2066–U+2069) and zero-width characters, line and
    /// paragraph separators (U+2028, U+2029), and unassigned, private-use or surrogate code points.
    /// So a peer's text cannot start a forged log line, drive a terminal (ANSI) or make a line read
    /// differently than it is (bidi); printable text in any script is kept as it is.
    public var logEscaped: String {
        var result = "\""
        result.reserveCapacity(self.utf8.count + 2)
        for scalar in self.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if Self.needsLogEscape(scalar) {
                    result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        result += "\""
        return result
    }

    private static func needsLogEscape(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) { return true }
        if scalar.isASCII { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned:
            return true
        default:
            return false
        }
    }
}

extension Optional<String> {
    /// ``Swift/String/logEscaped`` of the value, or `-` when there is none.
    public var logEscaped: String {
        self.map(\.logEscaped) ?? "-"
    }
}
