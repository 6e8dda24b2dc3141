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

/// Processes (psutil's `process_iter` / node_exporter's processes collector): how many there are,
/// and the top ones by CPU share and by resident memory.
///
/// Reads `proc/<pid>/stat` (name, CPU ticks, start time, resident pages) and `proc/<pid>/status`
/// (real uid) for every numeric entry of `proc/`, and maps uids to names with `etc/passwd` under the
/// same root, parsed here rather than through `getpwuid`, so fixtures work and a static binary
/// needs no NSS. A process that exits between the listing and the reads is skipped.
///
/// CPU share is the change in user + system ticks since the previous sample, matched by pid *and*
/// start time so that a reused pid is never compared with the process that had it before.
public struct ProcessCollector: Collector {
    public let name = "processes"

    /// Where `proc/` and `etc/passwd` are read from. Settable so a test can present a second sample.
    public var root: SystemRoot
    /// How many processes each of `top_cpu` and `top_memory` holds.
    public var top: Int
    public let clockTicksPerSecond: Int
    public let pageSize: Int

    /// The previous sample's CPU ticks, by pid.
    private var previous: [Int: Sample] = [:]

    private struct Sample: Sendable {
        /// Field 22 of stat: ticks after boot at which the process started. Tells pid reuse apart.
        var startTime: UInt64
        /// utime + stime.
        var ticks: UInt64
    }

    public init(
        root: SystemRoot = SystemRoot(),
        top: Int = 10,
        clockTicksPerSecond: Int = Int(sysconf(Int32(_SC_CLK_TCK))),
        pageSize: Int = Int(sysconf(Int32(_SC_PAGESIZE)))
    ) {
        self.root = root
        self.top = max(0, top)
        self.clockTicksPerSecond = clockTicksPerSecond > 0 ? clockTicksPerSecond : 100
        self.pageSize = pageSize > 0 ? pageSize : 4096
    }

    public mutating func collect(into document: inout MetricsDocument, elapsed: Double?) throws {
        let pids = self.root.list("proc").compactMap(Self.pid(from:))
        guard !pids.isEmpty else {
            self.previous = [:]
            throw CollectorError("no processes listed in \(self.root.resolve("proc"))")
        }
        let users = Self.parsePasswd(self.root.readIfPresent("etc/passwd") ?? "")

        var processes: [MetricsDocument.Processes.Process] = []
        var current: [Int: Sample] = [:]
        processes.reserveCapacity(pids.count)
        current.reserveCapacity(pids.count)

        for pid in pids {
            // Either read failing means the process has gone since the listing: not an error.
            guard let statText = self.root.readIfPresent("proc/\(pid)/stat"),
                  let stat = Self.parseStat(statText),
                  let statusText = self.root.readIfPresent("proc/\(pid)/status"),
                  let uid = Self.realUID(fromStatus: statusText)
            else { continue }

            let sample = Sample(startTime: stat.startTime, ticks: stat.utime &+ stat.stime)
            current[pid] = sample

            var cpuPercent: Double?
            if let elapsed, elapsed > 0,
               let before = self.previous[pid], before.startTime == sample.startTime,
               sample.ticks >= before.ticks {
                cpuPercent = Double(sample.ticks - before.ticks) * 100 / Double(self.clockTicksPerSecond) / elapsed
            }

            processes.append(MetricsDocument.Processes.Process(
                pid: pid,
                name: stat.name,
                user: users[uid] ?? String(uid),
                cpuPercent: cpuPercent,
                rss: UInt64(max(0, stat.rssPages)) &* UInt64(self.pageSize)
            ))
        }

        guard !processes.isEmpty else {
            self.previous = [:]
            throw CollectorError("no process in \(self.root.resolve("proc")) could be read")
        }
        self.previous = current

        let byCPU = processes.sorted { a, b in
            switch (a.cpuPercent, b.cpuPercent) {
            case let (x?, y?): return x != y ? x > y : a.pid < b.pid
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.pid < b.pid
            }
        }
        let byMemory = processes.sorted { a, b in
            a.rss != b.rss ? a.rss > b.rss : a.pid < b.pid
        }
        document.processes = MetricsDocument.Processes(
            total: processes.count,
            topCPU: Array(byCPU.prefix(self.top)),
            topMemory: Array(byMemory.prefix(self.top))
        )
    }

    // MARK: - Parsing

    /// The pid a `proc/` entry names, or `nil` for `self`, `sys`, `meminfo` and the like.
    static func pid(from entry: String) -> Int? {
        guard !entry.isEmpty, entry.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(entry)
    }

    struct Stat: Equatable {
        var name: String
        var utime: UInt64
        var stime: UInt64
        var startTime: UInt64
        var rssPages: Int64
    }

    /// The fields of `proc/<pid>/stat` this collector uses, or `nil` if the text is malformed.
    ///
    /// The name (field 2) is between the first `(` and the *last* `)`: a name may itself hold
    /// spaces and parentheses. Fields are numbered from 1 (the pid), as in proc(5).
    static func parseStat(_ text: String) -> Stat? {
        guard let open = text.firstIndex(of: "("),
              let close = text.lastIndex(of: ")"),
              open < close
        else { return nil }
        let name = String(text[text.index(after: open)..<close])
        // Fields 3 onwards (state, ppid, …).
        let rest = text[text.index(after: close)...].split(whereSeparator: { $0 == " " || $0 == "\n" })
        func field(_ number: Int) -> Substring? {
            let index = number - 3
            return index < rest.count ? rest[index] : nil
        }
        guard let utime = field(14).flatMap({ UInt64($0) }),
              let stime = field(15).flatMap({ UInt64($0) }),
              let startTime = field(22).flatMap({ UInt64($0) }),
              let rssPages = field(24).flatMap({ Int64($0) })
        else { return nil }
        return Stat(name: name, utime: utime, stime: stime, startTime: startTime, rssPages: rssPages)
    }

    /// The real uid: the first number on the `Uid:` line of `proc/<pid>/status`.
    static func realUID(fromStatus text: String) -> UInt32? {
        for line in text.split(separator: "\n") where line.hasPrefix("Uid:") {
            return line.dropFirst(4).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { UInt32($0) }
        }
        return nil
    }

    /// uid → user name from passwd(5) text. The first entry for a uid wins, as with `getpwuid`.
    static func parsePasswd(_ text: String) -> [UInt32: String] {
        var users: [UInt32: String] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") { continue }
            let fields = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3, !fields[0].isEmpty, let uid = UInt32(fields[2]) else { continue }
            if users[uid] == nil { users[uid] = String(fields[0]) }
        }
        return users
    }
}
