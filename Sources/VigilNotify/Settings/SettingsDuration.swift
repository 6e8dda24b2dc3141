import Foundation

/// Parses the durations channel settings are written with: `500ms`, `5s`, `1.5s`, `2m`, `1h`, or a
/// bare number of seconds (as the server's own settings are).
///
/// Internal on purpose: the server module has its own public `Duration(parsing:)`, and a second
/// public one here would make every call there ambiguous.
enum SettingsDuration {
    /// At most a day: a longer delivery timeout or resend interval is a typo.
    static let maximumSeconds = 86_400.0

    /// The duration, or nil when it does not parse. Zero and negative values parse (to be refused
    /// with a precise message by the caller).
    static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(trimmed)
        var scale = 1.0
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            number = trimmed.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite, abs(value * scale) <= Self.maximumSeconds else { return nil }
        return .nanoseconds(Int64((value * scale * 1e9).rounded()))
    }

    /// `250ms`, `5s`, `1.5s`: how a duration is written back in messages.
    static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let total = Double(seconds) + Double(attoseconds) / 1e18
        if total < 1 { return "\(Int((total * 1000).rounded()))ms" }
        if total == total.rounded() { return "\(Int(total))s" }
        return "\((total * 1000).rounded() / 1000)s"
    }
}
