#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension MetricsDocument {
    /// The widest ranges a figure may have, as a host can report them. A value outside is a broken
    /// or hostile sender: it is refused, naming the field, before any arithmetic or conversion
    /// touches it (history sums values into rollups, the dashboard divides them, and a Double
    /// beyond `Int`'s range traps when converted).
    public enum ValueRange {
        /// Shares of a whole, in per cent. A little over 100 is tolerated: a rate computed from two
        /// counters read a moment apart can round just past it.
        public static let percent: ClosedRange<Double> = 0...100.5
        /// A process's CPU share can exceed 100 (one per busy thread); a million per cent is 10,000 cores.
        public static let processPercent: ClosedRange<Double> = 0...1_000_000
        /// Rates per second, load averages and clock frequencies: non-negative and far below the
        /// point where sums of a year's samples lose meaning.
        public static let magnitude: ClosedRange<Double> = 0...1e18
        /// Unix seconds up to the year 9999.
        public static let unixSeconds: ClosedRange<Double> = 0...253_402_300_799
        /// Logical CPUs, processes, and the like.
        public static let count: ClosedRange<Int> = 0...(1 << 30)
        /// Process ids (Linux's `pid_max` is at most 2^22).
        public static let pid: ClosedRange<Int> = 0...Int(Int32.max)
        /// Load averages hold the 1, 5 and 15 minute figures.
        public static let loadAverageCount = 3
    }

    /// The first value outside its ``ValueRange``, as `path: value is outside lower...upper`, or
    /// `nil` when every value is in range.
    public func rangeViolation() -> String? {
        var check = RangeCheck()
        // First: the ingestor converts the timestamp's distance from now to whole seconds.
        check.value("timestamp", self.timestamp.timeIntervalSince1970, ValueRange.unixSeconds)
        if let cpu = self.cpu {
            check.percent("cpu.cpu_percent_total", cpu.cpuPercentTotal)
            for (index, value) in (cpu.cpuPercentPerCore ?? []).enumerated() {
                check.percent("cpu.cpu_percent_per_core[\(index)]", value)
            }
            check.count("cpu.cpu_count_logical", cpu.cpuCountLogical)
            check.count("cpu.cpu_count_physical", cpu.cpuCountPhysical)
            check.magnitude("cpu.cpu_freq_current", cpu.cpuFreqCurrent)
            if let load = cpu.loadAverage {
                if load.count > ValueRange.loadAverageCount, check.problem == nil {
                    check.problem = "cpu.load_average: \(load.count) values; at most \(ValueRange.loadAverageCount) (1, 5 and 15 minutes)"
                }
                for (index, value) in load.enumerated() {
                    check.magnitude("cpu.load_average[\(index)]", value)
                }
            }
        }
        if let memory = self.memory {
            check.percent("memory.memory_percent", memory.memoryPercent)
            check.percent("memory.swap_percent", memory.swapPercent)
        }
        for (index, partition) in (self.disk?.partitions ?? []).enumerated() {
            check.percent("disk.partitions[\(index)].percent", partition.percent)
        }
        if let network = self.io?.network {
            check.rates("io.network", network.total)
            for (name, counters) in network.interfaces {
                check.rates("io.network.interfaces[\(name.debugDescription)]", counters)
            }
        }
        if let disk = self.io?.diskIO {
            check.rates("io.disk_io", disk.total)
            for (name, counters) in disk.devices {
                check.rates("io.disk_io.devices[\(name.debugDescription)]", counters)
            }
        }
        if let system = self.system {
            check.value("system.boot_time", system.bootTime, ValueRange.unixSeconds)
            check.value("system.uptime", system.uptime, ValueRange.magnitude)
        }
        if let processes = self.processes {
            check.count("processes.total", processes.total)
            check.processes("processes.top_cpu", processes.topCPU)
            check.processes("processes.top_memory", processes.topMemory)
        }
        return check.problem
    }
}

/// Collects the first out-of-range value of a document. Runs on every sample: a path is only
/// spelled out (an autoclosure) once its value is found out of range.
private struct RangeCheck {
    var problem: String?

    mutating func value<T: Comparable>(_ path: @autoclosure () -> String, _ value: T?, _ range: ClosedRange<T>) {
        guard self.problem == nil, let value, !range.contains(value) else { return }
        self.problem = "\(path()): \(value) is outside \(range.lowerBound)...\(range.upperBound)"
    }

    mutating func percent(_ path: @autoclosure () -> String, _ value: Double?) {
        self.value(path(), value, MetricsDocument.ValueRange.percent)
    }

    mutating func magnitude(_ path: @autoclosure () -> String, _ value: Double?) {
        self.value(path(), value, MetricsDocument.ValueRange.magnitude)
    }

    mutating func count(_ path: @autoclosure () -> String, _ value: Int?) {
        self.value(path(), value, MetricsDocument.ValueRange.count)
    }

    mutating func processes(_ path: StaticString, _ entries: [MetricsDocument.Processes.Process]) {
        for (index, process) in entries.enumerated() {
            self.value("\(path)[\(index)].pid", process.pid, MetricsDocument.ValueRange.pid)
            self.value("\(path)[\(index)].cpu_percent", process.cpuPercent, MetricsDocument.ValueRange.processPercent)
        }
    }

    mutating func rates(_ path: @autoclosure () -> String, _ counters: MetricsDocument.NetworkCounters) {
        self.magnitude("\(path()).bytes_sent_per_sec", counters.bytesSentPerSecond)
        self.magnitude("\(path()).bytes_recv_per_sec", counters.bytesRecvPerSecond)
        self.magnitude("\(path()).packets_sent_per_sec", counters.packetsSentPerSecond)
        self.magnitude("\(path()).packets_recv_per_sec", counters.packetsRecvPerSecond)
    }

    mutating func rates(_ path: @autoclosure () -> String, _ counters: MetricsDocument.DiskCounters) {
        self.magnitude("\(path()).read_bytes_per_sec", counters.readBytesPerSecond)
        self.magnitude("\(path()).write_bytes_per_sec", counters.writeBytesPerSecond)
        self.magnitude("\(path()).read_count_per_sec", counters.readCountPerSecond)
        self.magnitude("\(path()).write_count_per_sec", counters.writeCountPerSecond)
    }
}
