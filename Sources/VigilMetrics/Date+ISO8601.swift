#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// ISO 8601 as Vigil writes and reads it everywhere: the metrics document, the HTTP API's dates
/// and its `from`/`to` parameters. One place, so the three cannot drift apart.
extension Date {
    /// Writes with milliseconds, `2026-11-22T03:33:32.085Z`.
    public static let vigilISO8601 = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// Reads ISO 8601 with or without fractional seconds, and the forms of ``init(lenientISO8601:)``
    /// (no zone means UTC; a fraction of any length; a space for `T`); `nil` for anything else.
    public init?(vigilISO8601 text: String) {
        // The hand-written reader first: it takes every form Vigil and the original agents send,
        // without the two throwing format styles' cost per sample; they stay for anything rarer.
        guard let date = Date(lenientISO8601: text) ?? (try? Self.vigilISO8601.parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text)) else { return nil }
        self = date
    }
}
