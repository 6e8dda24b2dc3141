/// A shell-style pattern over host names: `*` any run of characters, `?` one character, anything
/// else literal. No character classes: host names are DNS names and a `[` is more likely a typo.
public struct Glob: Sendable, Hashable, Codable, CustomStringConvertible {
    public let pattern: String
    private let characters: [Character]
    private let isLiteral: Bool

    public init(_ pattern: String) {
        self.pattern = pattern
        self.characters = Array(pattern)
        self.isLiteral = !pattern.contains("*") && !pattern.contains("?")
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.pattern)
    }

    public var description: String { self.pattern }

    public static func == (lhs: Glob, rhs: Glob) -> Bool { lhs.pattern == rhs.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.pattern) }

    /// Whether `text` matches the whole pattern. Linear in both lengths (the classic two-pointer
    /// walk with one backtrack point), so a hostile pattern cannot make it exponential.
    public func matches(_ text: String) -> Bool {
        if self.isLiteral { return text == self.pattern }
        let text = Array(text)
        let pattern = self.characters
        var t = 0, p = 0
        var star = -1, mark = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == text[t] {
                t += 1
                p += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                mark = t
                p += 1
            } else if star >= 0 {
                p = star + 1
                mark += 1
                t = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
