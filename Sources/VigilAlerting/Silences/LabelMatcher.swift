import Foundation

/// One condition on an alert's labels, as Alertmanager spells it: `host=web-1`, `severity!=warning`,
/// `host=~web-.*` (a regular expression over the whole value), `alertname!~cpu.*`.
public struct LabelMatcher: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Operation: String, Sendable, Codable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case matches = "=~"
        case notMatches = "!~"
    }

    public let name: String
    public let operation: Operation
    public let value: String
    /// The regular expression, compiled once: routes and silences are matched against every
    /// alert on every tick, and compiling a `Regex` costs far more than matching it.
    private let pattern: CompiledPattern?

    /// A compiled regular expression, shared by copies of the matcher. Matching does not mutate
    /// it, so sharing it between threads is safe (`Regex` is not declared `Sendable`).
    final class CompiledPattern: @unchecked Sendable {
        let regex: Regex<AnyRegexOutput>
        init(_ regex: Regex<AnyRegexOutput>) { self.regex = regex }
    }

    public static func == (lhs: LabelMatcher, rhs: LabelMatcher) -> Bool {
        lhs.name == rhs.name && lhs.operation == rhs.operation && lhs.value == rhs.value
    }

    /// The longest value (a regular expression is compiled from it).
    public static let maxValueBytes = 1024

    public init(name: String, operation: Operation, value: String) throws(RuleValidationError) {
        try Self.check(name: name, value: value)  // before compiling: a long value is refused, not compiled
        self.name = name
        self.operation = operation
        self.value = value
        if operation == .matches || operation == .notMatches {
            do { self.pattern = CompiledPattern(try Regex(value)) } catch {
                throw RuleValidationError(rule: "matcher", field: "value", problem: "\(value.debugDescription) is not a regular expression")
            }
        } else {
            self.pattern = nil
        }
    }

    /// Parses `name=value`, `name!=value`, `name=~regex`, `name!~regex`.
    public init(parsing text: String) throws(RuleValidationError) {
        for operation in [Operation.notMatches, .matches, .notEqual, .equal] {
            if let range = text.range(of: operation.rawValue) {
                let name = String(text[..<range.lowerBound]).trimmingCharacters(in: .whitespaces)
                let value = String(text[range.upperBound...]).trimmingCharacters(in: .whitespaces)
                try self.init(name: name, operation: operation, value: value.count >= 2 && value.first == "\"" && value.last == "\"" ? String(value.dropFirst().dropLast()) : value)
                return
            }
        }
        throw RuleValidationError(rule: "matcher", field: "matchers", problem: "\(text.debugDescription) is not name=value, name!=value, name=~regex or name!~regex")
    }

    private static func check(name: String, value: String) throws(RuleValidationError) {
        guard AlertRule.isLabelName(name) else {
            throw RuleValidationError(rule: "matcher", field: "name", problem: "\(name.debugDescription) is not a label name")
        }
        guard value.utf8.count <= Self.maxValueBytes else {
            throw RuleValidationError(rule: "matcher", field: "value", problem: "longer than \(Self.maxValueBytes) bytes")
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = try Self(parsing: text)
            return
        }
        struct Parts: Decodable { var name: String; var value: String; var isRegex: Bool?; var isEqual: Bool? }
        let parts = try container.decode(Parts.self)
        let regex = parts.isRegex ?? false, equal = parts.isEqual ?? true
        try self.init(name: parts.name, operation: regex ? (equal ? .matches : .notMatches) : (equal ? .equal : .notEqual), value: parts.value)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }

    public var description: String { "\(self.name)\(self.operation.rawValue)\(self.value)" }

    /// Whether `labels` satisfy the matcher (a missing label reads as the empty string, as in Alertmanager).
    public func matches(_ labels: [String: String]) -> Bool {
        let actual = labels[self.name] ?? ""
        switch self.operation {
        case .equal: return actual == self.value
        case .notEqual: return actual != self.value
        case .matches, .notMatches:
            let found = self.pattern.map { (try? $0.regex.wholeMatch(in: actual)) != nil } ?? false
            return self.operation == .matches ? found : !found
        }
    }
}
