#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import VigilMetrics

/// Block-device I/O from `proc/diskstats`: raw counters since boot and, from the second sample on,
/// rates per second.
///
/// Only whole disks are reported, as psutil does for its totals: a device counts if
/// `sys/block/<name>` exists (partitions live under their disk's directory, not in `sys/block`).
/// Loop, RAM-disk and zram devices are left out like node_exporter's default exclusion: they are
/// backed by files or memory, so their traffic is not the host's disk I/O. A real disk whose
/// counters are all zero (an idle CD drive, an unused volume) is kept. Device-mapper and md devices
/// are whole devices in `sys/block` and are kept too, so a host with LVM counts that I/O both on
/// the mapper and on the disk beneath it (psutil's totals do the same).
///
/// Sectors in diskstats are always 512 bytes, whatever the device's own sector size.
public struct DiskIOCollector: Collector {
    public let name = "diskio"
    /// Where the files are read; tests switch it between samples.
    public var root: SystemRoot
    /// The previous sample's raw counters by device, for rates.
    private var rates = RateTracker<Raw>()

    public init(root: SystemRoot = SystemRoot()) {
        self.root = root
    }

    public mutating func collect(into document: inout MetricsDocument, elapsed: Double?) throws {
        let text = try self.root.read("proc/diskstats")
        guard self.exists("sys/block") else {
            throw CollectorError("\(self.root.resolve("sys/block")) is missing: cannot tell disks from partitions")
        }
        var current: [String: Raw] = [:]
        for line in text.split(separator: "\n") {
            guard let (name, raw) = Self.parse(line), self.isWholeDisk(name) else { continue }
            current[name] = raw
        }

        let (devices, total) = self.rates.update(current, elapsed: elapsed)
        document.io = document.io ?? .init()
        document.io?.diskIO = MetricsDocument.DiskIO(total: total, devices: devices)
    }

    /// One diskstats line: `major minor name` then at least 11 counters (kernels before 4.18 have
    /// 11, 4.18 adds 4 for discards, 5.5 adds 2 for flushes). Lines with fewer (the 2.4-era short
    /// partition format) are skipped.
    static func parse(_ line: Substring) -> (String, Raw)? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 14 else { return nil }
        func number(_ index: Int) -> UInt64? { UInt64(fields[index]) }
        guard let reads = number(3), let sectorsRead = number(5), let readTime = number(6),
              let writes = number(7), let sectorsWritten = number(9), let writeTime = number(10)
        else { return nil }
        // Multiplying by 512 cannot overflow in practice (2^55 sectors); wrap rather than trap if it does.
        return (String(fields[2]), Raw(
            readCount: reads, writeCount: writes,
            readBytes: sectorsRead &* 512, writeBytes: sectorsWritten &* 512,
            readTime: readTime, writeTime: writeTime
        ))
    }

    /// Whole disks only, without loop, RAM-disk and zram devices.
    func isWholeDisk(_ name: String) -> Bool {
        for prefix in ["loop", "ram", "zram"] where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            if !rest.isEmpty && rest.allSatisfy({ $0.isASCII && $0.isNumber }) { return false }
        }
        // Names with a slash (cciss/c0d0) appear in sys/block with `!` instead.
        let entry = name.replacing("/", with: "!")
        guard !entry.isEmpty, entry != ".", entry != ".." else { return false }
        return self.exists("sys/block/" + entry)
    }

    private func exists(_ relative: String) -> Bool {
        access(self.root.resolve(relative), F_OK) == 0
    }

    struct Raw: Sendable, Equatable {
        var readCount: UInt64
        var writeCount: UInt64
        var readBytes: UInt64
        var writeBytes: UInt64
        var readTime: UInt64
        var writeTime: UInt64

        static let zero = Raw(readCount: 0, writeCount: 0, readBytes: 0, writeBytes: 0, readTime: 0, writeTime: 0)

        /// Summing wraps rather than traps: a total past 2^64 is no reason to crash the agent.
        static func + (lhs: Raw, rhs: Raw) -> Raw {
            Raw(
                readCount: lhs.readCount &+ rhs.readCount, writeCount: lhs.writeCount &+ rhs.writeCount,
                readBytes: lhs.readBytes &+ rhs.readBytes, writeBytes: lhs.writeBytes &+ rhs.writeBytes,
                readTime: lhs.readTime &+ rhs.readTime, writeTime: lhs.writeTime &+ rhs.writeTime
            )
        }

        var counters: MetricsDocument.DiskCounters {
            MetricsDocument.DiskCounters(
                readCount: self.readCount, writeCount: self.writeCount,
                readBytes: self.readBytes, writeBytes: self.writeBytes,
                readTime: self.readTime, writeTime: self.writeTime
            )
        }
    }
}

extension DiskIOCollector.Raw: RatedCounters {
    /// The counters that get a rate.
    var rateCounters: [UInt64] {
        [self.readCount, self.writeCount, self.readBytes, self.writeBytes]
    }

    static func applyRates(_ delta: CounterDelta, to counters: inout MetricsDocument.DiskCounters, over seconds: Double) {
        counters.readCountPerSecond = delta.perSecond(0, over: seconds)
        counters.writeCountPerSecond = delta.perSecond(1, over: seconds)
        counters.readBytesPerSecond = delta.perSecond(2, over: seconds)
        counters.writeBytesPerSecond = delta.perSecond(3, over: seconds)
    }
}
