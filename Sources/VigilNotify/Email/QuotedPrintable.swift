/// Quoted-printable (RFC 2045 §6.7) for a text body: lines of at most 76 characters with `=`
/// soft breaks, `=XX` for `=`, non-ASCII bytes and controls, and for a space or tab that would end
/// a line (mail systems strip trailing white space). Line breaks stay CRLF line breaks.
public enum QuotedPrintable {
    public static let maximumLineLength = 76

    public static func encode(_ text: String) -> String {
        var lines: [String] = []
        // Split on any line ending; each source line is encoded on its own.
        let normalized = text.replacingCRLF()
        for source in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            lines += Self.encodeLine(Array(source.utf8))
        }
        return lines.joined(separator: "\r\n")
    }

    private static func encodeLine(_ bytes: [UInt8]) -> [String] {
        var output: [String] = []
        var current = ""
        for (index, byte) in bytes.enumerated() {
            let isLast = index == bytes.count - 1
            let token: String
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                token = isLast ? Self.escape(byte) : String(UnicodeScalar(byte))
            case 33...60, 62...126:
                token = String(UnicodeScalar(byte))
            default:
                token = Self.escape(byte)
            }
            // Leave room for the `=` of a soft break.
            if current.utf8.count + token.utf8.count > Self.maximumLineLength - 1 {
                output.append(current + "=")
                current = ""
            }
            current += token
        }
        output.append(current)
        return output
    }

    private static func escape(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "=\(digits[Int(byte >> 4)])\(digits[Int(byte & 0x0F)])"
    }
}

extension String {
    /// Every CRLF and lone CR as LF.
    func replacingCRLF() -> String {
        var scalars = String.UnicodeScalarView()
        var previousCR = false
        for scalar in self.unicodeScalars {
            if scalar == "\r" {
                scalars.append("\n")
                previousCR = true
                continue
            }
            if scalar == "\n", previousCR {
                previousCR = false
                continue
            }
            previousCR = false
            scalars.append(scalar)
        }
        return String(scalars)
    }
}
