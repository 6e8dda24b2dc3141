#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import VigilMetrics

/// Mounted filesystems from `proc/self/mounts` with sizes from statvfs(3), as `df -B1` reports them.
///
/// Left out, as node_exporter and `df` leave them out: pseudo filesystems (proc, sysfs, cgroup, …),
/// mounts under /proc, /sys and /dev, filesystems of size 0, and second mounts of one filesystem
/// (bind mounts), of which the first mount is kept.
public struct FilesystemCollector: Collector {
    /// What statvfs tells about one mount point.
    public struct Usage: Sendable, Equatable {
        /// Identifies the filesystem, so bind mounts of it are counted once (`st_dev`).
        public var deviceID: UInt64
        public var blockSize: UInt64
        public var blocks: UInt64
        public var freeBlocks: UInt64
        /// Free blocks an unprivileged user may use (`f_bavail`).
        public var availableBlocks: UInt64

        public init(deviceID: UInt64, blockSize: UInt64, blocks: UInt64, freeBlocks: UInt64, availableBlocks: UInt64) {
            self.deviceID = deviceID
            self.blockSize = blockSize
            self.blocks = blocks
            self.freeBlocks = freeBlocks
            self.availableBlocks = availableBlocks
        }
    }

    public static let pseudoFilesystems: Set<String> = [
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs",
        "efivarfs", "fusectl", "hugetlbfs", "mqueue", "nsfs", "proc", "procfs", "pstore", "rpc_pipefs",
        "securityfs", "selinuxfs", "sysfs", "tracefs",
    ]
    public static let excludedMountPrefixes = ["/proc", "/sys", "/dev", "/run/credentials"]

    public let name = "filesystem"
    public var root: SystemRoot
    private let usage: @Sendable (String) -> Usage?

    /// - Parameters:
    ///   - root: Where `proc/self/mounts` is read.
    ///   - usage: Sizes of a mount point; by default statvfs(3) and stat(2) on the path itself.
    public init(root: SystemRoot = SystemRoot(), usage: (@Sendable (String) -> Usage?)? = nil) {
        self.root = root
        self.usage = usage ?? Self.statvfsUsage
    }

    public mutating func collect(into document: inout MetricsDocument, elapsed: Double?) throws {
        let mounts = try self.root.readIfPresent("proc/self/mounts") ?? self.root.read("proc/mounts")
        var seen: Set<UInt64> = []
        var partitions: [MetricsDocument.Disk.Partition] = []
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let device = Self.unescape(fields[0])
            let mountpoint = Self.unescape(fields[1])
            let fstype = String(fields[2])
            guard !Self.pseudoFilesystems.contains(fstype),
                  !Self.excludedMountPrefixes.contains(where: { mountpoint == $0 || mountpoint.hasPrefix($0 + "/") }),
                  let usage = self.usage(mountpoint), usage.blocks > 0,
                  seen.insert(usage.deviceID).inserted
            else { continue }
            let total = usage.blocks * usage.blockSize
            let used = (usage.blocks - min(usage.freeBlocks, usage.blocks)) * usage.blockSize
            let free = usage.availableBlocks * usage.blockSize
            partitions.append(MetricsDocument.Disk.Partition(
                device: device, mountpoint: mountpoint, fstype: fstype, total: total, used: used, free: free,
                percent: MemoryCollector.percent(used, of: used + free)
            ))
        }
        document.disk = MetricsDocument.Disk(partitions: partitions)
    }

    /// /proc/mounts writes space, tab, newline and backslash as octal escapes (`\040`).
    static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
               let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Sendable static func statvfsUsage(_ path: String) -> Usage? {
        var vfs = statvfs()
        var info = stat()
        guard statvfs(path, &vfs) == 0, stat(path, &info) == 0 else { return nil }
        return Usage(
            deviceID: UInt64(info.st_dev), blockSize: UInt64(vfs.f_frsize), blocks: UInt64(vfs.f_blocks),
            freeBlocks: UInt64(vfs.f_bfree), availableBlocks: UInt64(vfs.f_bavail)
        )
    }
}
