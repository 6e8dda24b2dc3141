import Histogram
import Synchronization

/// Latencies recorded from many event loops into one HDR histogram (microseconds, 3 significant
/// digits); ``reset()`` starts a measurement window (after a warm-up, say).
final class LatencyRecorder: Sendable {
    private let histogram = Mutex(LatencyRecorder.empty())

    static func empty() -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        histogram.autoResize = true
        return histogram
    }

    func record(nanoseconds: Int64) {
        let microseconds = UInt64(max(1, nanoseconds / 1000))
        self.histogram.withLock { _ = $0.record(microseconds) }
    }

    func reset() {
        self.histogram.withLock { $0.reset() }
    }

    var percentiles: LatencyPercentiles { LatencyPercentiles(self.histogram.withLock { $0 }) }
}

/// The usual cut of a latency histogram, in milliseconds (`nil` when nothing was recorded).
struct LatencyPercentiles: Codable, Sendable {
    var count: UInt64
    var p50Ms: Double?
    var p99Ms: Double?
    var p999Ms: Double?
    var maxMs: Double?
    var meanMs: Double?

    enum CodingKeys: String, CodingKey {
        case count
        case p50Ms = "p50_ms"
        case p99Ms = "p99_ms"
        case p999Ms = "p99_9_ms"
        case maxMs = "max_ms"
        case meanMs = "mean_ms"
    }

    /// - Parameter histogram: Microseconds.
    init(_ histogram: Histogram<UInt64>) {
        self.count = histogram.totalCount
        guard histogram.totalCount > 0 else { return }
        let ms = { (microseconds: UInt64) in Double(microseconds) / 1000 }
        self.p50Ms = ms(histogram.valueAtPercentile(50))
        self.p99Ms = ms(histogram.valueAtPercentile(99))
        self.p999Ms = ms(histogram.valueAtPercentile(99.9))
        self.maxMs = ms(histogram.max)
        self.meanMs = histogram.mean / 1000
    }

    /// `p50 1.23 ms, p99 …, p99.9 …, max … (n=…)`.
    var summary: String {
        guard let p50 = self.p50Ms else { return "no samples" }
        return String(format: "p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms (n=%@)",
                      p50, self.p99Ms ?? 0, self.p999Ms ?? 0, self.maxMs ?? 0, Format.number(Int(self.count)))
    }
}
