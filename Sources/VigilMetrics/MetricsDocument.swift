#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One sample of a host's figures: the document `POST /api/metrics` takes and the agent's METRICS
/// frames carry (VISION.md, "HTTP essentials"). Every section is optional, so a collector that is
/// disabled or failing leaves its section out instead of inventing zeros.
///
/// Counters are sent raw (since boot) and, where the agent has a previous sample, as rates per
/// second; a counter that went backwards (reboot, wrap) yields no rate rather than a negative one.
public struct MetricsDocument: Codable, Sendable, Equatable {
    public var hostname: String?
    /// When the sample was taken (ISO 8601 on the wire).
    public var timestamp: Date
    public var cpu: CPU?
    public var memory: Memory?
    public var disk: Disk?
    public var io: IO?
    public var system: System?
    public var processes: Processes?

    public init(hostname: String? = nil, timestamp: Date) {
        self.hostname = hostname
        self.timestamp = timestamp
    }

    enum CodingKeys: String, CodingKey {
        case hostname, timestamp, cpu, memory, disk, io, system, processes
    }

    /// Decodes the document. `timestamp` is ISO 8601 (fractional seconds optional) or a number of
    /// Unix seconds; when absent, the time of decoding stands in, so a script may leave it out.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.hostname = try c.decodeIfPresent(String.self, forKey: .hostname)
        self.timestamp = try Self.decodeTimestamp(from: c) ?? Date()
        self.cpu = try c.decodeIfPresent(CPU.self, forKey: .cpu)
        self.memory = try c.decodeIfPresent(Memory.self, forKey: .memory)
        self.disk = try c.decodeIfPresent(Disk.self, forKey: .disk)
        self.io = try c.decodeIfPresent(IO.self, forKey: .io)
        self.system = try c.decodeIfPresent(System.self, forKey: .system)
        self.processes = try c.decodeIfPresent(Processes.self, forKey: .processes)
    }

    /// Encodes the document; the timestamp as ISO 8601 with milliseconds, whatever the encoder's date strategy.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(self.hostname, forKey: .hostname)
        try c.encode(self.timestamp.formatted(Date.vigilISO8601), forKey: .timestamp)
        try c.encodeIfPresent(self.cpu, forKey: .cpu)
        try c.encodeIfPresent(self.memory, forKey: .memory)
        try c.encodeIfPresent(self.disk, forKey: .disk)
        try c.encodeIfPresent(self.io, forKey: .io)
        try c.encodeIfPresent(self.system, forKey: .system)
        try c.encodeIfPresent(self.processes, forKey: .processes)
    }

    private static func decodeTimestamp(from c: KeyedDecodingContainer<CodingKeys>) throws -> Date? {
        guard c.contains(.timestamp), try !c.decodeNil(forKey: .timestamp) else { return nil }
        if let seconds = try? c.decode(Double.self, forKey: .timestamp) {
            guard seconds.isFinite, seconds >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: .timestamp, in: c, debugDescription: "Unix seconds must be a finite number >= 0")
            }
            // Its upper bound is a value refusal (`rangeViolation`), not a decoding error.
            return Date(timeIntervalSince1970: seconds)
        }
        let text = try c.decode(String.self, forKey: .timestamp)
        if let date = Date(vigilISO8601: text) {
            return date
        }
        throw DecodingError.dataCorruptedError(forKey: .timestamp, in: c, debugDescription: "not an ISO 8601 date-time: \(String(text.prefix(64)).debugDescription)")
    }

    public struct CPU: Codable, Sendable, Equatable {
        /// Busy share of all CPUs over the interval, 0–100; `nil` on the first sample (no interval yet).
        public var cpuPercentTotal: Double?
        public var cpuPercentPerCore: [Double]?
        public var cpuCountLogical: Int
        public var cpuCountPhysical: Int?
        /// MHz, the mean over cores; `nil` where the kernel does not expose it.
        public var cpuFreqCurrent: Double?
        /// 1, 5 and 15 minutes.
        public var loadAverage: [Double]?

        public init(cpuPercentTotal: Double? = nil, cpuPercentPerCore: [Double]? = nil, cpuCountLogical: Int, cpuCountPhysical: Int? = nil, cpuFreqCurrent: Double? = nil, loadAverage: [Double]? = nil) {
            self.cpuPercentTotal = cpuPercentTotal
            self.cpuPercentPerCore = cpuPercentPerCore
            self.cpuCountLogical = cpuCountLogical
            self.cpuCountPhysical = cpuCountPhysical
            self.cpuFreqCurrent = cpuFreqCurrent
            self.loadAverage = loadAverage
        }

        enum CodingKeys: String, CodingKey {
            case cpuPercentTotal = "cpu_percent_total"
            case cpuPercentPerCore = "cpu_percent_per_core"
            case cpuCountLogical = "cpu_count_logical"
            case cpuCountPhysical = "cpu_count_physical"
            case cpuFreqCurrent = "cpu_freq_current"
            case loadAverage = "load_average"
        }
    }

    /// Bytes. `used` is computed as `free(1)` does: total − free − buffers − cache − reclaimable slab.
    public struct Memory: Codable, Sendable, Equatable {
        public var memoryTotal: UInt64
        public var memoryAvailable: UInt64
        public var memoryUsed: UInt64
        public var memoryFree: UInt64
        public var memoryPercent: Double
        public var swapTotal: UInt64
        public var swapUsed: UInt64
        public var swapFree: UInt64
        public var swapPercent: Double

        public init(memoryTotal: UInt64, memoryAvailable: UInt64, memoryUsed: UInt64, memoryFree: UInt64, memoryPercent: Double, swapTotal: UInt64, swapUsed: UInt64, swapFree: UInt64, swapPercent: Double) {
            self.memoryTotal = memoryTotal
            self.memoryAvailable = memoryAvailable
            self.memoryUsed = memoryUsed
            self.memoryFree = memoryFree
            self.memoryPercent = memoryPercent
            self.swapTotal = swapTotal
            self.swapUsed = swapUsed
            self.swapFree = swapFree
            self.swapPercent = swapPercent
        }

        enum CodingKeys: String, CodingKey {
            case memoryTotal = "memory_total"
            case memoryAvailable = "memory_available"
            case memoryUsed = "memory_used"
            case memoryFree = "memory_free"
            case memoryPercent = "memory_percent"
            case swapTotal = "swap_total"
            case swapUsed = "swap_used"
            case swapFree = "swap_free"
            case swapPercent = "swap_percent"
        }
    }

    public struct Disk: Codable, Sendable, Equatable {
        public var partitions: [Partition]

        public init(partitions: [Partition]) {
            self.partitions = partitions
        }

        /// Bytes, as `df -B1` reports them: `used` = total − free, `free` = what an unprivileged user may use.
        public struct Partition: Codable, Sendable, Equatable {
            public var device: String
            public var mountpoint: String
            public var fstype: String
            public var total: UInt64
            public var used: UInt64
            public var free: UInt64
            /// used / (used + free) × 100 (what `df` shows as Use%, which it rounds up; here to 0.01).
            public var percent: Double

            public init(device: String, mountpoint: String, fstype: String, total: UInt64, used: UInt64, free: UInt64, percent: Double) {
                self.device = device
                self.mountpoint = mountpoint
                self.fstype = fstype
                self.total = total
                self.used = used
                self.free = free
                self.percent = percent
            }
        }
    }

    public struct IO: Codable, Sendable, Equatable {
        public var network: Network?
        public var diskIO: DiskIO?

        public init(network: Network? = nil, diskIO: DiskIO? = nil) {
            self.network = network
            self.diskIO = diskIO
        }

        enum CodingKeys: String, CodingKey {
            case network
            case diskIO = "disk_io"
        }
    }

    /// Totals over all interfaces except loopback, plus each interface.
    public struct Network: Codable, Sendable, Equatable {
        public var total: NetworkCounters
        public var interfaces: [String: NetworkCounters]

        public init(total: NetworkCounters, interfaces: [String: NetworkCounters]) {
            self.total = total
            self.interfaces = interfaces
        }

        // The VISION document puts the totals' fields directly under `network`.
        public init(from decoder: any Decoder) throws {
            self.total = try NetworkCounters(from: decoder)
            let container = try decoder.container(keyedBy: ExtraKeys.self)
            self.interfaces = try container.decodeIfPresent([String: NetworkCounters].self, forKey: .interfaces) ?? [:]
        }

        public func encode(to encoder: any Encoder) throws {
            try self.total.encode(to: encoder)
            var container = encoder.container(keyedBy: ExtraKeys.self)
            try container.encode(self.interfaces, forKey: .interfaces)
        }

        enum ExtraKeys: String, CodingKey { case interfaces }
    }

    public struct NetworkCounters: Codable, Sendable, Equatable {
        public var bytesSent: UInt64
        public var bytesRecv: UInt64
        public var packetsSent: UInt64
        public var packetsRecv: UInt64
        public var errin: UInt64
        public var errout: UInt64
        public var dropin: UInt64
        public var dropout: UInt64
        /// Per second over the interval; `nil` on the first sample or after a counter went backwards.
        public var bytesSentPerSecond: Double?
        public var bytesRecvPerSecond: Double?
        public var packetsSentPerSecond: Double?
        public var packetsRecvPerSecond: Double?

        public init(bytesSent: UInt64, bytesRecv: UInt64, packetsSent: UInt64, packetsRecv: UInt64, errin: UInt64, errout: UInt64, dropin: UInt64, dropout: UInt64) {
            self.bytesSent = bytesSent
            self.bytesRecv = bytesRecv
            self.packetsSent = packetsSent
            self.packetsRecv = packetsRecv
            self.errin = errin
            self.errout = errout
            self.dropin = dropin
            self.dropout = dropout
        }

        enum CodingKeys: String, CodingKey {
            case errin, errout, dropin, dropout
            case bytesSent = "bytes_sent"
            case bytesRecv = "bytes_recv"
            case packetsSent = "packets_sent"
            case packetsRecv = "packets_recv"
            case bytesSentPerSecond = "bytes_sent_per_sec"
            case bytesRecvPerSecond = "bytes_recv_per_sec"
            case packetsSentPerSecond = "packets_sent_per_sec"
            case packetsRecvPerSecond = "packets_recv_per_sec"
        }
    }

    /// Totals over whole disks (partitions are not added twice), plus each device.
    public struct DiskIO: Codable, Sendable, Equatable {
        public var total: DiskCounters
        public var devices: [String: DiskCounters]

        public init(total: DiskCounters, devices: [String: DiskCounters]) {
            self.total = total
            self.devices = devices
        }

        public init(from decoder: any Decoder) throws {
            self.total = try DiskCounters(from: decoder)
            let container = try decoder.container(keyedBy: ExtraKeys.self)
            self.devices = try container.decodeIfPresent([String: DiskCounters].self, forKey: .devices) ?? [:]
        }

        public func encode(to encoder: any Encoder) throws {
            try self.total.encode(to: encoder)
            var container = encoder.container(keyedBy: ExtraKeys.self)
            try container.encode(self.devices, forKey: .devices)
        }

        enum ExtraKeys: String, CodingKey { case devices }
    }

    public struct DiskCounters: Codable, Sendable, Equatable {
        public var readCount: UInt64
        public var writeCount: UInt64
        public var readBytes: UInt64
        public var writeBytes: UInt64
        /// Milliseconds spent reading and writing, as /proc/diskstats counts them.
        public var readTime: UInt64
        public var writeTime: UInt64
        public var readBytesPerSecond: Double?
        public var writeBytesPerSecond: Double?
        public var readCountPerSecond: Double?
        public var writeCountPerSecond: Double?

        public init(readCount: UInt64, writeCount: UInt64, readBytes: UInt64, writeBytes: UInt64, readTime: UInt64, writeTime: UInt64) {
            self.readCount = readCount
            self.writeCount = writeCount
            self.readBytes = readBytes
            self.writeBytes = writeBytes
            self.readTime = readTime
            self.writeTime = writeTime
        }

        enum CodingKeys: String, CodingKey {
            case readCount = "read_count"
            case writeCount = "write_count"
            case readBytes = "read_bytes"
            case writeBytes = "write_bytes"
            case readTime = "read_time"
            case writeTime = "write_time"
            case readBytesPerSecond = "read_bytes_per_sec"
            case writeBytesPerSecond = "write_bytes_per_sec"
            case readCountPerSecond = "read_count_per_sec"
            case writeCountPerSecond = "write_count_per_sec"
        }
    }

    public struct System: Codable, Sendable, Equatable {
        /// e.g. `Debian GNU/Linux 12 (bookworm)` (PRETTY_NAME of os-release).
        public var os: String
        public var kernel: String
        public var architecture: String
        /// The kernel's host name (may differ from the identity the server knows the host by).
        public var hostname: String?
        /// Unix seconds.
        public var bootTime: Double
        /// Seconds.
        public var uptime: Double

        public init(os: String, kernel: String, architecture: String, hostname: String?, bootTime: Double, uptime: Double) {
            self.os = os
            self.kernel = kernel
            self.architecture = architecture
            self.hostname = hostname
            self.bootTime = bootTime
            self.uptime = uptime
        }

        enum CodingKeys: String, CodingKey {
            case os, kernel, architecture, hostname, uptime
            case bootTime = "boot_time"
        }

        /// Besides numbers, takes what the original Python metrics agent sends: `boot_time` as a
        /// date-time (`2026-12-07 09:47:00`, UTC when it has no zone) and `uptime` as `"0d 0h 7m"`.
        /// Unknown fields (its `os_version`) are ignored, as everywhere.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.os = try c.decode(String.self, forKey: .os)
            self.kernel = try c.decode(String.self, forKey: .kernel)
            self.architecture = try c.decode(String.self, forKey: .architecture)
            self.hostname = try c.decodeIfPresent(String.self, forKey: .hostname)
            if let seconds = try? c.decode(Double.self, forKey: .bootTime) {
                self.bootTime = seconds
            } else if let text = try? c.decode(String.self, forKey: .bootTime) {
                guard let date = Date(vigilISO8601: text) else {
                    throw DecodingError.dataCorruptedError(forKey: .bootTime, in: c, debugDescription: "expected Unix seconds or a date-time such as 2026-12-07 09:47:00 (got \(String(text.prefix(64)).debugDescription))")
                }
                self.bootTime = date.timeIntervalSince1970
            } else {
                self.bootTime = try c.decode(Double.self, forKey: .bootTime)  // the precise error
            }
            if let seconds = try? c.decode(Double.self, forKey: .uptime) {
                self.uptime = seconds
            } else if let text = try? c.decode(String.self, forKey: .uptime) {
                guard let seconds = Self.uptimeSeconds(text) else {
                    throw DecodingError.dataCorruptedError(forKey: .uptime, in: c, debugDescription: "expected seconds or the form \"3d 4h 5m\" (got \(String(text.prefix(64)).debugDescription))")
                }
                self.uptime = seconds
            } else {
                self.uptime = try c.decode(Double.self, forKey: .uptime)
            }
        }

        /// `"3d 4h 5m"`, `"0d 0h 7m"`, `"12m 30s"`, `"4h"`: whole numbers with the units d, h, m and
        /// s, each at most once, in that order, separated by spaces. `nil` for anything else.
        public static func uptimeSeconds(_ text: String) -> Double? {
            let units: [(Character, Double)] = [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)]
            var next = 0
            var total = 0.0
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            guard !parts.isEmpty, parts.count <= units.count else { return nil }
            for part in parts {
                guard let unit = part.last, let amount = UInt32(part.dropLast()),
                      let position = units[next...].firstIndex(where: { $0.0 == unit })
                else { return nil }
                total += Double(amount) * units[position].1
                next = position + 1
            }
            return total
        }
    }

    public struct Processes: Codable, Sendable, Equatable {
        public var total: Int
        public var topCPU: [Process]
        public var topMemory: [Process]

        public init(total: Int, topCPU: [Process], topMemory: [Process]) {
            self.total = total
            self.topCPU = topCPU
            self.topMemory = topMemory
        }

        enum CodingKeys: String, CodingKey {
            case total
            case topCPU = "top_cpu"
            case topMemory = "top_memory"
        }

        public struct Process: Codable, Sendable, Equatable {
            public var pid: Int
            public var name: String
            public var user: String
            /// Share of one CPU over the interval (can exceed 100 for a multi-threaded process); `nil` on the first sample.
            public var cpuPercent: Double?
            /// Resident set size, bytes.
            public var rss: UInt64

            public init(pid: Int, name: String, user: String, cpuPercent: Double?, rss: UInt64) {
                self.pid = pid
                self.name = name
                self.user = user
                self.cpuPercent = cpuPercent
                self.rss = rss
            }

            enum CodingKeys: String, CodingKey {
                case pid, name, user, rss
                case cpuPercent = "cpu_percent"
            }
        }
    }
}
