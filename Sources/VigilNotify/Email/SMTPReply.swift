/// One SMTP reply: a three-digit code and its text lines (several for a multi-line reply such as EHLO's).
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    /// Each line's text after the code and its separator.
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    /// 2xx: done.
    public var isPositiveCompletion: Bool { (200...299).contains(self.code) }
    /// 3xx: go on (354 after DATA, 334 in AUTH).
    public var isPositiveIntermediate: Bool { (300...399).contains(self.code) }
    /// 4xx: not now, maybe later.
    public var isTransientNegative: Bool { (400...499).contains(self.code) }
    /// 5xx: no.
    public var isPermanentNegative: Bool { (500...599).contains(self.code) }

    /// `535 5.7.8 Authentication credentials invalid`, escaped and cut (``SMTPError/quoted(_:)``):
    /// a server's text is not trusted, and a description ends up in logs.
    public var description: String { SMTPError.quoted(self) }
}
