import VigilProtocol

/// Turns the bytes a server sends into replies (RFC 5321 §4.2): lines `NNN-text` continue a reply,
/// `NNN text` (or a bare `NNN`) end it, every line of one reply carries the same code. Lines end
/// in CRLF; a bare LF is accepted too (servers in the wild), a line without an end is kept until
/// more bytes come.
public struct SMTPReplyParser: Sendable {
    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { "malformed SMTP reply: \(self.reason)" }
    }

    /// RFC 5321 allows 512 bytes per reply line; some servers send longer EHLO lines.
    public static let maximumLineBytes = 4096
    /// More lines than this in one reply is not a mail server.
    public static let maximumLinesPerReply = 256

    private var pending: [UInt8] = []
    private var current: (code: Int, lines: [String])?

    public init() {}

    /// True while part of a line or of a multi-line reply waits for more bytes.
    public var hasPartialInput: Bool { !self.pending.isEmpty || self.current != nil }

    /// Feeds bytes; returns the replies they complete, in order.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) throws(Malformed) -> [SMTPReply] where Bytes.Element == UInt8 {
        self.pending.append(contentsOf: bytes)
        var replies: [SMTPReply] = []
        var start = 0
        while let newline = self.pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            var end = newline
            if end > start, self.pending[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let line = Array(self.pending[start..<end])
            start = newline + 1
            if let reply = try self.line(line) { replies.append(reply) }
        }
        self.pending.removeFirst(start)
        guard self.pending.count <= Self.maximumLineBytes else { throw Malformed(reason: "a line longer than \(Self.maximumLineBytes) bytes") }
        return replies
    }

    private mutating func line(_ line: [UInt8]) throws(Malformed) -> SMTPReply? {
        guard line.count <= Self.maximumLineBytes else { throw Malformed(reason: "a line longer than \(Self.maximumLineBytes) bytes") }
        guard line.count >= 3, line[0..<3].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            (UInt8(ascii: "2")...UInt8(ascii: "5")).contains(line[0])
        else {
            throw Malformed(reason: "a line that does not start with a reply code: \(String(decoding: line.prefix(40), as: UTF8.self).logEscaped)")
        }
        let code = Int(line[0] - 48) * 100 + Int(line[1] - 48) * 10 + Int(line[2] - 48)
        let separator: UInt8? = line.count > 3 ? line[3] : nil
        guard separator == nil || separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
            throw Malformed(reason: "a reply code followed by \(String(decoding: line[3...3], as: UTF8.self).logEscaped)")
        }
        let text = line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : ""
        if let current = self.current, current.code != code {
            throw Malformed(reason: "a multi-line reply changing code from \(current.code) to \(code)")
        }
        var lines = self.current?.lines ?? []
        lines.append(text)
        guard lines.count <= Self.maximumLinesPerReply else { throw Malformed(reason: "more than \(Self.maximumLinesPerReply) lines in one reply") }
        if separator == UInt8(ascii: "-") {
            self.current = (code, lines)
            return nil
        }
        self.current = nil
        return SMTPReply(code: code, lines: lines)
    }
}
