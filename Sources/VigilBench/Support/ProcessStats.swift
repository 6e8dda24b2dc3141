import Foundation
import VigilProtocol  // Duration.seconds

/// CPU time and memory of a process, read from /proc (Linux).
struct ProcessStats: Sendable {
    /// User plus system CPU time, seconds.
    var cpuSeconds: Double
    /// Resident set size now, bytes (VmRSS).
    var residentBytes: Int64
    /// Peak resident set size since start, bytes (VmHWM).
    var peakResidentBytes: Int64
    var threads: Int

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// - Returns: `nil` when the process is gone (or /proc is not there).
    static func read(pid: pid_t) -> ProcessStats? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        else { return nil }
        // The command name (field 2) is in parentheses and may contain spaces: count fields after
        // the last ')'. utime and stime are fields 14 and 15, so indices 11 and 12 from there.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        var stats = ProcessStats(cpuSeconds: (user + system) / Self.ticksPerSecond, residentBytes: 0, peakResidentBytes: 0, threads: 0)
        for line in status.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let number = Int64(parts[1].split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
            switch parts[0] {
            case "VmRSS": stats.residentBytes = number * 1024
            case "VmHWM": stats.peakResidentBytes = number * 1024
            case "Threads": stats.threads = Int(number)
            default: break
            }
        }
        return stats
    }

    /// This process (the load generator), from getrusage: CPU seconds and peak RSS.
    static func current() -> ProcessStats {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        let own = Self.read(pid: getpid())
        return ProcessStats(cpuSeconds: cpu, residentBytes: own?.residentBytes ?? 0, peakResidentBytes: Int64(usage.ru_maxrss) * 1024, threads: own?.threads ?? 0)
    }
}

/// Wall-clock stopwatch on the monotonic clock.
struct Stopwatch: Sendable {
    private let start = ContinuousClock.now
    var seconds: Double { (ContinuousClock.now - self.start).seconds }
}
