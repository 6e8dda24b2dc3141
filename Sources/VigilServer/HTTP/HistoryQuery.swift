import Foundation
import Hummingbird
import VigilMetrics
import VigilStore

/// The time range and resolution of a history request, parsed from `from`, `to`, `step` and
/// `resolution`, with the resolution chosen from the range when not given.
struct HistoryQuery {
    var from: Double
    var to: Double
    var resolution: MetricResolution
    /// Seconds per returned point when the caller asked for coarser points than the resolution.
    var step: Double?

    /// Up to this range raw samples are served; up to the next, per-minute rollups; beyond, per-hour.
    /// (About 1,500 points at a 5 s sample interval or at each rollup's bucket size.)
    static let rawRangeLimit = 2.0 * 3600
    static let minuteRangeLimit = 25.0 * 3600

    /// - Parameters:
    ///   - parameters: The query string.
    ///   - now: Unix seconds now.
    ///   - retention: What is kept, so a range older than raw retention is served from rollups.
    ///   - defaultRange: Seconds before `to` when `from` is absent.
    init(_ parameters: Hummingbird.Parameters, now: Double, retention: MetricsRetention, defaultRange: Double = 3600) throws {
        self.to = try Self.time(parameters["to"].map(String.init), name: "to") ?? now
        self.from = try Self.time(parameters["from"].map(String.init), name: "from") ?? (self.to - defaultRange)
        guard self.from <= self.to else {
            throw APIError(.badRequest, "invalid_parameter", "from must not be after to")
        }
        let range = self.to - self.from
        if let text = parameters["step"].map(String.init) {
            guard let step = Duration(parsing: text), step > .zero else {
                throw APIError(.badRequest, "invalid_parameter", "step must be a duration such as 30s, 5m, 1h (got \"\(text)\")")
            }
            self.step = step.seconds
        }
        if let text = parameters["resolution"].map(String.init) {
            guard let resolution = MetricResolution.allCases.first(where: { $0.name == text }) else {
                throw APIError(.badRequest, "invalid_parameter", "resolution must be raw, 1m or 1h (got \"\(text)\")")
            }
            self.resolution = resolution
        } else if let step = self.step {
            // The coarsest level whose buckets still fit in one step.
            self.resolution = MetricResolution.allCases.filter { Double($0.seconds) <= step }.max() ?? .raw
        } else {
            self.resolution = range <= Self.rawRangeLimit ? .raw : range <= Self.minuteRangeLimit ? .minute : .hour
        }
        // A range reaching past a level's retention is served from the next level that still has it.
        while self.resolution != .hour, self.from < now - retention.duration(for: self.resolution).seconds {
            self.resolution = self.resolution == .raw ? .minute : .hour
        }
        if let step = self.step, step <= Double(self.resolution.seconds) {
            self.step = nil  // the stored points are already that coarse
        }
    }

    /// The start to ask the store for: a rollup point is stamped with its bucket's start, so the
    /// bucket that holds `from` starts before it and must be asked for too.
    var storeFrom: Double {
        let bucket = Double(self.resolution.seconds)
        return bucket == 0 ? self.from : (self.from / bucket).rounded(.down) * bucket
    }

    /// ISO 8601, or Unix seconds.
    static func time(_ text: String?, name: String) throws -> Double? {
        guard let text else { return nil }
        if let seconds = Double(text), seconds.isFinite { return seconds }
        if let date = Date(vigilISO8601: text) { return date.timeIntervalSince1970 }
        throw APIError(.badRequest, "invalid_parameter", "\(name) must be an ISO 8601 date-time or Unix seconds (got \"\(text.prefix(64))\")")
    }

    /// Merges points into `step`-second buckets aligned to the epoch.
    static func rebucket(_ points: [SeriesPoint], step: Double) -> [SeriesPoint] {
        var out: [SeriesPoint] = []
        for point in points {
            let start = (point.timestamp / step).rounded(.down) * step
            if var current = out.last, current.timestamp == start {
                let count = current.count + point.count
                current.avg = (current.avg * Double(current.count) + point.avg * Double(point.count)) / Double(count)
                current.min = Swift.min(current.min, point.min)
                current.max = Swift.max(current.max, point.max)
                current.last = point.last
                current.count = count
                out[out.count - 1] = current
            } else {
                out.append(SeriesPoint(timestamp: start, min: point.min, max: point.max, avg: point.avg, last: point.last, count: point.count))
            }
        }
        return out
    }
}
