/// What a server offers in its EHLO reply: each line after the first is a keyword and its parameters.
public struct SMTPCapabilities: Sendable, Equatable {
    /// Upper-cased keyword → its parameters (`AUTH` → `["PLAIN", "LOGIN"]`).
    public var keywords: [String: [String]]

    public init(ehlo reply: SMTPReply) {
        var keywords: [String: [String]] = [:]
        for line in reply.lines.dropFirst() {
            var words = line.split(separator: " ").map { String($0).uppercased() }
            guard !words.isEmpty else { continue }
            var keyword = words.removeFirst()
            // Old servers write `AUTH=PLAIN LOGIN`.
            if keyword.hasPrefix("AUTH=") {
                words.insert(String(keyword.dropFirst(5)), at: 0)
                keyword = "AUTH"
            }
            keywords[keyword, default: []] += words
        }
        self.keywords = keywords
    }

    /// No extensions (after a HELO).
    public init() { self.keywords = [:] }

    public var startTLS: Bool { self.keywords["STARTTLS"] != nil }
    public var eightBitMIME: Bool { self.keywords["8BITMIME"] != nil }
    public var authMechanisms: Set<String> { Set(self.keywords["AUTH"] ?? []) }
}
