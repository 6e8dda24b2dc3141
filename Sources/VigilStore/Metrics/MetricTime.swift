/// Time arithmetic shared by the metrics stores: samples are kept as whole Unix milliseconds.
///
/// Milliseconds are integers, so block timestamps compress as deltas and bucket boundaries are exact
/// (a Double of seconds is not). Sub-millisecond parts of a sample's timestamp are rounded away.
package enum MetricTime {
    /// Beyond ±2^62 ms (146 million years) a timestamp is garbage; bounding it keeps every
    /// difference of two timestamps inside `Int64`.
    package static let limit: Int64 = 1 << 62

    /// Unix seconds to milliseconds (nearest), or nil when not finite or absurdly far.
    package static func milliseconds(_ seconds: Double) -> Int64? {
        let ms = (seconds * 1000).rounded()
        guard ms.isFinite, Swift.abs(ms) < Double(self.limit) else { return nil }
        return Int64(ms)
    }

    /// The bounds of a `from...to` query in milliseconds: every millisecond timestamp `t` with
    /// `from <= t / 1000 <= to`. Nil when the range holds none.
    package static func range(from: Double, to: Double) -> ClosedRange<Int64>? {
        guard !from.isNaN, !to.isNaN else { return nil }
        let lower = Swift.max((from * 1000).rounded(.up), -Double(self.limit))
        let upper = Swift.min((to * 1000).rounded(.down), Double(self.limit))
        guard lower <= upper else { return nil }
        return Int64(lower)...Int64(upper)
    }

    package static func seconds(_ milliseconds: Int64) -> Double {
        Double(milliseconds) / 1000
    }

    /// Milliseconds of one bucket of a rollup resolution (0 for raw).
    package static func bucketMilliseconds(_ resolution: MetricResolution) -> Int64 {
        Int64(resolution.seconds) * 1000
    }

    /// The start of the bucket holding `milliseconds` (floor, also before 1970).
    package static func bucketStart(_ milliseconds: Int64, _ resolution: MetricResolution) -> Int64 {
        let size = self.bucketMilliseconds(resolution)
        precondition(size > 0, "raw samples have no buckets")
        let quotient = milliseconds / size
        let start = quotient * size
        return start > milliseconds ? start - size : start
    }

    /// A retention duration in milliseconds (saturating).
    package static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return seconds < 0 ? -self.limit : self.limit }
        return Swift.max(-self.limit, Swift.min(self.limit, ms + attoseconds / 1_000_000_000_000_000))
    }
}
