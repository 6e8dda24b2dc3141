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

/// Who the host is (node_exporter's `os`, `uname`, `boottime` and `time`):
///
/// - `os`: PRETTY_NAME of /etc/os-release, else of /usr/lib/os-release, else `Linux` (the default
///   os-release(5) gives it).
/// - `kernel`: /proc/sys/kernel/osrelease; `hostname`: /proc/sys/kernel/hostname.
/// - `architecture`: uname(2)'s machine, taken once at init (a parameter, so tests can set it).
/// - `boot_time`: `btime` of /proc/stat (Unix seconds); `uptime`: the first number of /proc/uptime.
public struct SystemCollector: Collector {
    public var name: String { "system" }

    public var root: SystemRoot
    public var machine: String

    public init(root: SystemRoot = SystemRoot(), machine: String = SystemCollector.unameMachine()) {
        self.root = root
        self.machine = machine
    }

    public mutating func collect(into document: inout MetricsDocument, elapsed: Double?) throws {
        let kernel = try self.root.read("proc/sys/kernel/osrelease").trimmingSpaces
        let hostname = try self.root.read("proc/sys/kernel/hostname").trimmingSpaces
        guard let bootTime = Self.bootTime(fromStat: try self.root.read("proc/stat")) else {
            throw CollectorError("no btime line in proc/stat")
        }
        let uptimeText = try self.root.read("proc/uptime")
        guard let uptime = uptimeText.split(whereSeparator: { $0 == " " || $0 == "\n" }).first.flatMap({ Double($0) }), uptime.isFinite else {
            throw CollectorError("malformed proc/uptime: \(uptimeText.prefix(80))")
        }
        document.system = MetricsDocument.System(
            os: self.prettyName(),
            kernel: kernel,
            architecture: self.machine,
            hostname: hostname,
            bootTime: Double(bootTime),
            uptime: uptime
        )
    }

    func prettyName() -> String {
        for path in ["etc/os-release", "usr/lib/os-release"] {
            if let text = self.root.readIfPresent(path), let name = Self.osReleaseValue("PRETTY_NAME", in: text), !name.isEmpty {
                return name
            }
        }
        return "Linux"
    }

    /// The value of `key` in an os-release file: `KEY=value`, optionally in single or double quotes,
    /// with backslash escapes inside double quotes (os-release(5) follows shell syntax).
    static func osReleaseValue(_ key: String, in text: String) -> String? {
        for line in text.split(separator: "\n") {
            let line = line.trimmingSpaces
            guard !line.hasPrefix("#"), let equals = line.firstIndex(of: "="), line[..<equals] == key else { continue }
            let raw = line[line.index(after: equals)...]
            guard let quote = raw.first, quote == "\"" || quote == "'" else { return String(raw) }
            var value = ""
            var escaped = false
            for character in raw.dropFirst() {
                if escaped {
                    value.append(character)
                    escaped = false
                } else if character == "\\" && quote == "\"" {
                    escaped = true
                } else if character == quote {
                    break
                } else {
                    value.append(character)
                }
            }
            return value
        }
        return nil
    }

    static func bootTime(fromStat text: String) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) }
        }
        return nil
    }

    /// uname(2)'s machine field, e.g. `x86_64` or `aarch64`.
    public static func unameMachine() -> String {
        var names = utsname()
        guard uname(&names) == 0 else { return "unknown" }
        return withUnsafeBytes(of: names.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
