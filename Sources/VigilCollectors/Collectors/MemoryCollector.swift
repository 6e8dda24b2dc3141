import VigilMetrics

/// Memory and swap from `proc/meminfo`, in bytes, with `used` as `free(1)` (procps-ng 4) computes
/// it: total − available. (procps 3 used total − free − buffers − cache; 4.0 changed to this, which
/// is what a person comparing with `free` on a current system sees.)
public struct MemoryCollector: Collector {
    public let name = "memory"
    public var root: SystemRoot

    public init(root: SystemRoot = SystemRoot()) {
        self.root = root
    }

    public mutating func collect(into document: inout MetricsDocument, elapsed: Double?) throws {
        let kib = try self.root.read("proc/meminfo").colonSeparatedNumbers()
        func bytes(_ key: String) -> UInt64? { kib[key].map { $0 * 1024 } }
        guard let total = bytes("MemTotal"), let free = bytes("MemFree"), total > 0 else {
            throw CollectorError("proc/meminfo has no MemTotal or MemFree")
        }
        // Kernels before 3.14 lack MemAvailable: estimate it as free(1) does.
        let available = bytes("MemAvailable")
            ?? min(total, free + (bytes("Buffers") ?? 0) + (bytes("Cached") ?? 0) + (bytes("SReclaimable") ?? 0))
        let used = total - min(available, total)
        let swapTotal = bytes("SwapTotal") ?? 0
        let swapFree = min(bytes("SwapFree") ?? 0, swapTotal)
        let swapUsed = swapTotal - swapFree
        document.memory = MetricsDocument.Memory(
            memoryTotal: total, memoryAvailable: available, memoryUsed: used, memoryFree: free,
            memoryPercent: Self.percent(used, of: total),
            swapTotal: swapTotal, swapUsed: swapUsed, swapFree: swapFree,
            swapPercent: Self.percent(swapUsed, of: swapTotal)
        )
    }

    /// `part / whole × 100`, rounded to 0.01; 0 for an empty whole.
    static func percent(_ part: UInt64, of whole: UInt64) -> Double {
        guard whole > 0 else { return 0 }
        return (Double(part) / Double(whole) * 10_000).rounded() / 100
    }
}
