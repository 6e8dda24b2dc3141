#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import VigilMetrics

/// CPU busy share, counts and frequency (node_exporter's `cpu` and `cpufreq`).
///
/// - Busy share: from the `cpu` and `cpuN` lines of /proc/stat, over the interval since the previous
///   call: 100 × (Δtotal − Δidle − Δiowait) / Δtotal, where total is user + nice + system + idle +
///   iowait + irq + softirq + steal. `guest` and `guest_nice` are left out: the kernel already counts
///   them in `user` and `nice`. The first call has no interval, so it reports `nil`.
/// - A counter that went backwards (reboot, CPU hotplug, a bad sample) or an empty interval gives
///   `nil`, never a negative share or NaN. The one exception is documented by the kernel
///   (Documentation/filesystems/proc.rst): `iowait` alone may decrease, because idle time moves
///   between `iowait` and `idle` while a CPU sleeps; so `idle + iowait` is checked as one counter.
/// - Logical count: the `cpuN` lines (online CPUs). Physical count: distinct (physical id, core id)
///   pairs of /proc/cpuinfo, or distinct core ids if there is no physical id, else `nil`.
/// - Frequency: the mean `cpu MHz` of /proc/cpuinfo, else the mean of
///   /sys/devices/system/cpu/cpuN/cpufreq/scaling_cur_freq (kHz), else `nil`.
///
/// The load average belongs to ``LoadCollector``; a value already in the document is kept.
public struct CPUCollector: Collector {
    public var name: String { "cpu" }

    /// Where /proc and /sys are read from; tests point it at fixture copies between calls.
    public var root: SystemRoot
    private var previous: StatSample?

    public init(root: SystemRoot = SystemRoot()) {
        self.root = root
    }

    public mutating func collect(into document: inout MetricsDocument, elapsed: Double?) throws {
        let sample = try Self.parseStat(try self.root.read("proc/stat"))
        let cpuinfo = Self.parseCPUInfo(self.root.readIfPresent("proc/cpuinfo") ?? "")

        var total: Double?
        var perCore: [Double]?
        if let previous = self.previous {
            total = sample.total.busyPercent(since: previous.total)
            perCore = Self.perCorePercent(sample.cores, since: previous.cores)
        }
        self.previous = sample

        document.cpu = MetricsDocument.CPU(
            cpuPercentTotal: total,
            cpuPercentPerCore: perCore,
            cpuCountLogical: sample.cores.count,
            cpuCountPhysical: Self.physicalCount(cpuinfo),
            cpuFreqCurrent: Self.meanMHz(cpuinfo) ?? self.sysfsMeanMHz(),
            loadAverage: document.cpu?.loadAverage
        )
    }

    // MARK: - /proc/stat

    /// The time counters of one `cpu` line, in USER_HZ ticks.
    struct Times: Sendable, Equatable {
        var user: UInt64
        var nice: UInt64
        var system: UInt64
        var idle: UInt64
        var iowait: UInt64
        var irq: UInt64
        var softirq: UInt64
        var steal: UInt64

        /// From the numbers after the label; kernels older than 2.6.11 have fewer than eight (the
        /// missing ones are 0). Anything after `steal` (guest, guest_nice) is ignored.
        init?<S: Sequence>(fields: S) where S.Element: StringProtocol {
            var numbers: [UInt64] = []
            for field in fields {
                guard let number = UInt64(field) else { return nil }
                numbers.append(number)
            }
            guard numbers.count >= 4 else { return nil }
            func at(_ index: Int) -> UInt64 { index < numbers.count ? numbers[index] : 0 }
            self.init(user: at(0), nice: at(1), system: at(2), idle: at(3), iowait: at(4), irq: at(5), softirq: at(6), steal: at(7))
        }

        init(user: UInt64, nice: UInt64, system: UInt64, idle: UInt64, iowait: UInt64, irq: UInt64, softirq: UInt64, steal: UInt64) {
            self.user = user
            self.nice = nice
            self.system = system
            self.idle = idle
            self.iowait = iowait
            self.irq = irq
            self.softirq = softirq
            self.steal = steal
        }

        /// Busy share over the interval from `previous`, 0–100, or `nil` if a counter went
        /// backwards or no time passed.
        func busyPercent(since previous: Times) -> Double? {
            func delta(_ new: UInt64, _ old: UInt64) -> UInt64? { new >= old ? new - old : nil }
            guard
                let user = delta(self.user, previous.user),
                let nice = delta(self.nice, previous.nice),
                let system = delta(self.system, previous.system),
                let irq = delta(self.irq, previous.irq),
                let softirq = delta(self.softirq, previous.softirq),
                let steal = delta(self.steal, previous.steal),
                let idle = delta(self.idle &+ self.iowait, previous.idle &+ previous.iowait)
            else { return nil }
            let busy = Double(user) + Double(nice) + Double(system) + Double(irq) + Double(softirq) + Double(steal)
            let total = busy + Double(idle)
            guard total > 0 else { return nil }
            return busy * 100 / total
        }
    }

    struct Core: Sendable, Equatable {
        /// N of `cpuN`.
        var index: Int
        var times: Times
    }

    struct StatSample: Sendable, Equatable {
        /// The aggregate `cpu` line.
        var total: Times
        /// The `cpuN` lines, in file order.
        var cores: [Core]
    }

    /// The `cpu` and `cpuN` lines of /proc/stat.
    /// - Throws: ``CollectorError`` if the aggregate line is missing or a cpu line is malformed.
    static func parseStat(_ text: String) throws -> StatSample {
        var total: Times?
        var cores: [Core] = []
        for line in text.split(separator: "\n") where line.hasPrefix("cpu") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let label = fields.first else { continue }
            guard let times = Times(fields: fields.dropFirst()) else {
                throw CollectorError("malformed line in proc/stat: \(line)")
            }
            if label == "cpu" {
                total = times
            } else if let index = Int(label.dropFirst(3)), index >= 0 {
                cores.append(Core(index: index, times: times))
            }
        }
        guard let total else { throw CollectorError("no aggregate cpu line in proc/stat") }
        return StatSample(total: total, cores: cores)
    }

    /// Each core's busy share, in the order of `current`; `nil` unless every core has a valid
    /// interval (a core that came online, or whose counters went backwards, spoils the array, as
    /// the positions would no longer line up with the cores).
    static func perCorePercent(_ current: [Core], since previous: [Core]) -> [Double]? {
        let before = Dictionary(previous.map { ($0.index, $0.times) }, uniquingKeysWith: { first, _ in first })
        var percents: [Double] = []
        for core in current {
            guard let old = before[core.index], let percent = core.times.busyPercent(since: old) else { return nil }
            percents.append(percent)
        }
        return percents.isEmpty ? nil : percents
    }

    // MARK: - /proc/cpuinfo and cpufreq

    /// One `key: value` dictionary per processor block.
    static func parseCPUInfo(_ text: String) -> [[String: String]] {
        var blocks: [[String: String]] = []
        var current: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let colon = line.firstIndex(of: ":") else {
                if line.trimmingSpaces.isEmpty, !current.isEmpty {
                    blocks.append(current)
                    current = [:]
                }
                continue
            }
            let key = line[..<colon].trimmingSpaces
            let value = line[line.index(after: colon)...].trimmingSpaces
            current[key] = value
        }
        if !current.isEmpty { blocks.append(current) }
        return blocks
    }

    static func physicalCount(_ blocks: [[String: String]]) -> Int? {
        let pairs = Set(blocks.compactMap { block -> String? in
            guard let physical = block["physical id"], let core = block["core id"] else { return nil }
            return physical + "/" + core
        })
        if !pairs.isEmpty { return pairs.count }
        let cores = Set(blocks.compactMap { $0["core id"] })
        return cores.isEmpty ? nil : cores.count
    }

    static func meanMHz(_ blocks: [[String: String]]) -> Double? {
        mean(blocks.compactMap { $0["cpu MHz"].flatMap { Double($0) } })
    }

    /// The mean of cpufreq's current frequencies, in MHz.
    func sysfsMeanMHz() -> Double? {
        let directory = "sys/devices/system/cpu"
        let values = self.root.list(directory).compactMap { name -> Double? in
            guard name.hasPrefix("cpu"), name.count > 3, name.dropFirst(3).allSatisfy(\.isASCIIDigit) else { return nil }
            guard let text = self.root.readIfPresent("\(directory)/\(name)/cpufreq/scaling_cur_freq"),
                  let kHz = Double(text.trimmingSpaces)
            else { return nil }
            return kHz / 1000
        }
        return Self.mean(values)
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
