#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import VigilMetrics
import VigilProtocol

/// Fuzz target for the metrics document (the body of `POST /api/metrics` and of `METRICS`
/// frames): decoding with the field-naming error mapping both paths use, ``MetricsDocument/rangeViolation()``,
/// ``MetricsDocument/series()``, and re-encoding. The same bytes, read as text, go through the
/// date-time readers (`Date(lenientISO8601:)`, `Date(vigilISO8601:)`, which the HTTP API's
/// `from`/`to` parameters use too) and the `uptime` reader.
public enum MetricsFuzzer {
    /// Longer text is no date: the Foundation format styles behind `Date(vigilISO8601:)` are only
    /// worth their cost on inputs of a date's length.
    static let maxDateLength = 64

    public static func run(_ input: UnsafeRawBufferPointer) {
        let data = Data(input)
        if input.count <= Self.maxDateLength {
            let text = String(decoding: input, as: UTF8.self)
            if let date = Date(lenientISO8601: text) {
                precondition(date.timeIntervalSince1970.isFinite, "a finite date-time read as \(date.timeIntervalSince1970)")
            }
            _ = Date(vigilISO8601: text)
            if let seconds = MetricsDocument.System.uptimeSeconds(text) {
                precondition(seconds.isFinite && seconds >= 0, "uptime \(text.debugDescription) read as \(seconds)")
            }
        }
        let document: MetricsDocument
        do {
            document = try ProtocolViolation.decodeJSON(MetricsDocument.self, from: data)
        } catch {
            _ = error.description
            return
        }
        let violation = document.rangeViolation()
        let series = document.series()
        guard violation == nil else { return }
        for (name, value) in series {
            precondition(value.isFinite, "series \(name) is \(value)")
        }
        // An accepted document is stored and served again as JSON: it must encode and read back.
        do {
            let encoded = try JSONEncoder().encode(document)
            let decoded = try ProtocolViolation.decodeJSON(MetricsDocument.self, from: encoded)
            precondition(decoded.series().map(\.name) == series.map(\.name), "series names changed after re-encoding")
        } catch {
            preconditionFailure("an accepted metrics document does not encode and decode again: \(error)")
        }
    }
}
