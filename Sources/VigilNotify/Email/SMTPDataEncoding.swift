/// A message made ready for the DATA phase (RFC 5321 §4.5.2): every line ending becomes CRLF (a
/// bare CR or LF is not allowed in SMTP), a line starting with `.` gets another `.` in front (so
/// the server does not take it as the end), and the `CRLF . CRLF` terminator is added.
public enum SMTPDataEncoding {
    public static func encode(_ message: [UInt8]) -> [UInt8] {
        let cr = UInt8(ascii: "\r")
        let lf = UInt8(ascii: "\n")
        let dot = UInt8(ascii: ".")
        var out: [UInt8] = []
        out.reserveCapacity(message.count + message.count / 40 + 5)
        var atLineStart = true
        var index = 0
        while index < message.count {
            let byte = message[index]
            if byte == cr || byte == lf {
                out.append(cr)
                out.append(lf)
                // CRLF is one ending; so is a lone CR or a lone LF.
                if byte == cr, index + 1 < message.count, message[index + 1] == lf { index += 1 }
                atLineStart = true
            } else {
                if atLineStart, byte == dot { out.append(dot) }
                out.append(byte)
                atLineStart = false
            }
            index += 1
        }
        if !atLineStart { out += [cr, lf] }
        out += [dot, cr, lf]
        return out
    }
}
