import Foundation
import VigilProtocol

extension Duration {
    /// Parses `500ms`, `1.5s`, `2m`, `1h`, `1d`, or a bare number of seconds.
    ///
    /// - Returns: `nil` for anything else, including negative values.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        var number = Substring(trimmed)
        var scale = 1.0
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            number = trimmed.dropLast(suffix.count)
            scale = factor
            break
        }
        // At most ten years: anything longer is a typo, and it keeps the nanosecond count far from overflow.
        guard let value = Double(number), value >= 0, value.isFinite, value * scale <= 315_360_000 else { return nil }
        self = .nanoseconds(Int64((value * scale * 1e9).rounded()))
    }

    /// A compact human form: `250ms`, `1.5s`, `30s`.
    public var compactDescription: String {
        let s = self.seconds
        if s < 1 { return "\(Int((s * 1000).rounded()))ms" }
        if s == s.rounded() { return "\(Int(s))s" }
        return "\((s * 100).rounded() / 100)s"
    }
}
