#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Every series name a document can produce, with each bracketed key written `[*]`
/// (`disk.partitions[*].percent`), so a rule's series can be checked before any host sent it.
///
/// Derived from ``series()`` itself, over one document with every field set and one member in each
/// keyed collection: a series added there is known here without a second list to keep in step.
extension MetricsDocument {
    public static let seriesPatterns: Set<String> = {
        var counters = NetworkCounters(bytesSent: 1, bytesRecv: 1, packetsSent: 1, packetsRecv: 1, errin: 0, errout: 0, dropin: 0, dropout: 0)
        (counters.bytesSentPerSecond, counters.bytesRecvPerSecond, counters.packetsSentPerSecond, counters.packetsRecvPerSecond) = (1, 1, 1, 1)
        var disk = DiskCounters(readCount: 1, writeCount: 1, readBytes: 1, writeBytes: 1, readTime: 1, writeTime: 1)
        (disk.readBytesPerSecond, disk.writeBytesPerSecond, disk.readCountPerSecond, disk.writeCountPerSecond) = (1, 1, 1, 1)
        var document = MetricsDocument(timestamp: Date(timeIntervalSince1970: 0))
        document.cpu = CPU(cpuPercentTotal: 1, cpuPercentPerCore: [1], cpuCountLogical: 1, cpuCountPhysical: 1, cpuFreqCurrent: 1, loadAverage: [1, 1, 1])
        document.memory = Memory(memoryTotal: 1, memoryAvailable: 1, memoryUsed: 1, memoryFree: 1, memoryPercent: 1, swapTotal: 1, swapUsed: 1, swapFree: 1, swapPercent: 1)
        document.disk = Disk(partitions: [Disk.Partition(device: "d", mountpoint: "/", fstype: "ext4", total: 1, used: 1, free: 1, percent: 1)])
        document.io = IO(network: Network(total: counters, interfaces: ["i": counters]), diskIO: DiskIO(total: disk, devices: ["d": disk]))
        document.system = System(os: "Linux", kernel: "k", architecture: "x86_64", hostname: nil, bootTime: 1, uptime: 1)
        document.processes = Processes(total: 1, topCPU: [], topMemory: [])
        return Set(document.series().map { Self.seriesPattern(of: $0.name) })
    }()

    /// The name with every bracketed key replaced by `*`: `disk.partitions[/var].percent` →
    /// `disk.partitions[*].percent`. A key may itself hold `]` (a mount point can), so a bracket
    /// closes only where `].` follows or the name ends.
    public static func seriesPattern(of name: String) -> String {
        var out = ""
        var rest = Substring(name)
        while let open = rest.firstIndex(of: "[") {
            out += rest[...open]
            let afterOpen = rest.index(after: open)
            var close: Substring.Index? = nil
            var index = afterOpen
            while index < rest.endIndex {
                if rest[index] == "]" {
                    let next = rest.index(after: index)
                    if next == rest.endIndex || rest[next] == "." { close = index; break }
                }
                index = rest.index(after: index)
            }
            guard let close else { return out + rest[afterOpen...] }
            out += "*]"
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}
