import Foundation
import Histogram

/// Latency of one kind of request: warm-up requests first (not recorded), then `requests`
/// sequential ones on one keep-alive connection, recorded in an HDR histogram (microseconds,
/// 3 significant digits).
struct LatencyFigures: Codable, Sendable {
    var path: String
    var requests: Int
    var p50Ms: Double
    var p90Ms: Double
    var p99Ms: Double
    var maxMs: Double
    var meanMs: Double
    /// Bytes of the answer body (of the last answer; they are all the same size here).
    var responseBytes: Int

    enum CodingKeys: String, CodingKey {
        case path, requests
        case p50Ms = "p50_ms"
        case p90Ms = "p90_ms"
        case p99Ms = "p99_ms"
        case maxMs = "max_ms"
        case meanMs = "mean_ms"
        case responseBytes = "response_bytes"
    }

    /// - Parameter check: Called with the first answer, to verify its content (throws if wrong).
    static func measure(_ client: HTTPClient, path: String, warmup: Int, requests: Int, timeout: Duration, check: (HTTPAnswer) throws -> Void = { _ in }) async throws -> LatencyFigures {
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        histogram.autoResize = true
        var bytes = 0
        for index in 0..<(warmup + requests) {
            let answer = try await client.get(path, timeout: timeout)
            guard answer.status == 200 else {
                throw BenchmarkError("GET \(path): HTTP \(answer.status): \(String(decoding: answer.data.prefix(500), as: UTF8.self))")
            }
            if index == 0 { try check(answer) }
            bytes = answer.bytes
            if index >= warmup {
                _ = histogram.record(UInt64(max(1, answer.nanoseconds / 1000)))
            }
        }
        let ms = { (microseconds: UInt64) in Double(microseconds) / 1000 }
        return LatencyFigures(
            path: path, requests: requests,
            p50Ms: ms(histogram.valueAtPercentile(50)), p90Ms: ms(histogram.valueAtPercentile(90)),
            p99Ms: ms(histogram.valueAtPercentile(99)), maxMs: ms(histogram.max),
            meanMs: histogram.mean / 1000, responseBytes: bytes)
    }
}
