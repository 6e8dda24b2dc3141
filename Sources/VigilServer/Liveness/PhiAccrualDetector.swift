/// The phi accrual failure detector (Hayashibara et al., 2004), as used by Akka and Cassandra.
///
/// It keeps a window of heartbeat inter-arrival times and expresses the silence since the last
/// heartbeat as phi = -log10(P(a heartbeat is still to come)), assuming normally distributed
/// intervals. Phi adapts to each host: a host whose heartbeats arrive like clockwork is suspected
/// sooner than one on a jittery link.
///
/// Because phi depends on the silence only through `(silence - mean) / stddev`, the silence at which
/// phi reaches a threshold is `mean + y(threshold) * stddev`, where `y` depends on the threshold
/// alone. ``silence(reachingPhi:)`` uses that, so a deadline costs two multiplications per
/// heartbeat instead of a phi evaluation per host per check.
public struct PhiAccrualDetector: Sendable {
    /// Inter-arrival samples kept.
    public static let windowSize = 100

    private var samples: [Double] = []
    private var next = 0
    private var sum = 0.0
    private var sumOfSquares = 0.0
    private let minimumStandardDeviation: Double

    /// - Parameters:
    ///   - expectedInterval: The heartbeat interval, seconds. Seeds the window so the first heartbeats
    ///     are judged against it (mean = interval, deviation = interval / 4).
    ///   - minimumStandardDeviation: A floor on the deviation, seconds, so perfectly regular
    ///     heartbeats do not make the detector hair-triggered. Default: a tenth of the interval.
    public init(expectedInterval: Double, minimumStandardDeviation: Double? = nil) {
        self.minimumStandardDeviation = minimumStandardDeviation ?? expectedInterval / 10
        self.samples.reserveCapacity(Self.windowSize)
        self.record(interval: expectedInterval - expectedInterval / 4)
        self.record(interval: expectedInterval + expectedInterval / 4)
    }

    /// Adds one observed interval between heartbeats, seconds.
    public mutating func record(interval: Double) {
        if self.samples.count < Self.windowSize {
            self.samples.append(interval)
        } else {
            let old = self.samples[self.next]
            self.sum -= old
            self.sumOfSquares -= old * old
            self.samples[self.next] = interval
            self.next = (self.next + 1) % Self.windowSize
        }
        self.sum += interval
        self.sumOfSquares += interval * interval
    }

    public var mean: Double { self.sum / Double(self.samples.count) }

    public var standardDeviation: Double {
        let n = Double(self.samples.count)
        let variance = max(0, self.sumOfSquares / n - self.mean * self.mean)
        return max(variance.squareRoot(), self.minimumStandardDeviation)
    }

    /// Phi never exceeds this: past it the approximation underflows to infinity, and any value this
    /// large means "certainly dead" anyway. Keeping phi finite keeps it printable and JSON-encodable.
    public static let maximumPhi = 100.0

    /// Phi after `silence` seconds without a heartbeat, in `0...maximumPhi`.
    public func phi(afterSilence silence: Double) -> Double {
        let phi = Self.phi(y: (silence - self.mean) / self.standardDeviation)
        return phi.isFinite ? min(max(phi, 0), Self.maximumPhi) : Self.maximumPhi
    }

    /// The silence, in seconds, after which phi reaches `threshold`.
    public func silence(reachingPhi threshold: Double) -> Double {
        self.mean + Self.y(forPhi: threshold) * self.standardDeviation
    }

    /// Phi for a standardised silence `y`, using the logistic approximation of the normal CDF
    /// (the one Akka uses: accurate to about 1e-4 and cheap).
    static func phi(y: Double) -> Double {
        let e = exp(-y * (1.5976 + 0.070566 * y * y))
        return y > 0 ? -log10(e / (1 + e)) : -log10(1 - 1 / (1 + e))
    }

    /// Inverts ``phi(y:)`` by bisection (phi grows monotonically with y).
    static func y(forPhi threshold: Double) -> Double {
        var low = -10.0
        var high = 40.0
        for _ in 0..<64 {
            let middle = (low + high) / 2
            if Self.phi(y: middle) < threshold { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
