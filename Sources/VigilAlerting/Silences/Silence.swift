import Foundation

/// A period in which alerts whose labels match every matcher are not notified (they still fire and
/// show, marked silenced). It ends by itself at ``endsAt``.
public struct Silence: Sendable, Equatable, Codable {
    public var id: String
    public var matchers: [LabelMatcher]
    public var startsAt: Date
    public var endsAt: Date
    public var createdBy: String
    public var comment: String
    public var createdAt: Date

    public static let maxMatchers = 32
    public static let maxCommentBytes = 4096
    /// The longest silence (a year): longer ones are mistakes that hide alerts forever.
    public static let maxLength: TimeInterval = 366 * 86_400

    public init(id: String, matchers: [LabelMatcher], startsAt: Date, endsAt: Date, createdBy: String, comment: String, createdAt: Date) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, matchers, comment
        case startsAt = "starts_at"
        case endsAt = "ends_at"
        case createdBy = "created_by"
        case createdAt = "created_at"
    }

    /// Whether the silence is in force at `now`.
    public func isActive(at now: Date) -> Bool { self.startsAt <= now && now < self.endsAt }

    /// Whether it silences an alert with these labels at `now`.
    public func silences(_ labels: [String: String], at now: Date) -> Bool {
        self.isActive(at: now) && self.matchers.allSatisfy { $0.matches(labels) }
    }

    /// Checks what a person can get wrong: no matchers (it would silence everything), an end not
    /// after the start, a length over a year, a long comment.
    public func validate() throws(RuleValidationError) {
        func fail(_ field: String, _ problem: String) -> RuleValidationError { RuleValidationError(rule: "silence", field: field, problem: problem) }
        guard !self.matchers.isEmpty else { throw fail("matchers", "at least one matcher (a silence without one would hide every alert)") }
        guard self.matchers.count <= Self.maxMatchers else { throw fail("matchers", "at most \(Self.maxMatchers)") }
        guard self.endsAt > self.startsAt else {
            throw fail("ends_at", "must be after starts_at (\(self.endsAt.formatted(.iso8601)) is not after \(self.startsAt.formatted(.iso8601)))")
        }
        guard self.endsAt.timeIntervalSince(self.startsAt) <= Self.maxLength else { throw fail("ends_at", "a silence lasts at most 366 days") }
        guard self.comment.utf8.count <= Self.maxCommentBytes else { throw fail("comment", "longer than \(Self.maxCommentBytes) bytes") }
    }
}
