/// Flattening a document into named numeric series, the unit of history.
///
/// A series name is the dotted path of a number in the JSON document. Members of a keyed collection
/// (a partition by its mount point, an interface or disk by its name) and array elements are written
/// in brackets, so names stay unambiguous whatever the key contains:
///
/// - `cpu.cpu_percent_total`, `cpu.cpu_percent_per_core[0]`, `cpu.load_average[2]`
/// - `memory.memory_percent`, `memory.swap_used`
/// - `disk.partitions[/var/lib].percent`
/// - `io.network.bytes_recv_per_sec`, `io.network.interfaces[eth0].bytes_recv`
/// - `io.disk_io.read_bytes`, `io.disk_io.devices[sda].write_bytes_per_sec`
/// - `system.uptime`, `processes.total`
///
/// Text (device names, OS) and the top-process lists are not series: they are served from the
/// latest document only.
extension MetricsDocument {
    /// Every number in the document as `(name, value)`, in a stable order (same document shape,
    /// same names in the same order, which lets storage keep a block's column set fixed).
    public func series() -> [(name: String, value: Double)] {
        var out: [(name: String, value: Double)] = []
        out.reserveCapacity(128)
        func add(_ name: String, _ value: Double?) {
            if let value, value.isFinite { out.append((name, value)) }
        }
        func add(_ name: String, _ value: UInt64) { out.append((name, Double(value))) }

        if let cpu = self.cpu {
            add("cpu.cpu_percent_total", cpu.cpuPercentTotal)
            for (index, value) in (cpu.cpuPercentPerCore ?? []).enumerated() { add("cpu.cpu_percent_per_core[\(index)]", value) }
            add("cpu.cpu_count_logical", Double(cpu.cpuCountLogical))
            add("cpu.cpu_count_physical", cpu.cpuCountPhysical.map(Double.init))
            add("cpu.cpu_freq_current", cpu.cpuFreqCurrent)
            for (index, value) in (cpu.loadAverage ?? []).enumerated() { add("cpu.load_average[\(index)]", value) }
        }
        if let memory = self.memory {
            add("memory.memory_total", memory.memoryTotal)
            add("memory.memory_available", memory.memoryAvailable)
            add("memory.memory_used", memory.memoryUsed)
            add("memory.memory_free", memory.memoryFree)
            add("memory.memory_percent", memory.memoryPercent)
            add("memory.swap_total", memory.swapTotal)
            add("memory.swap_used", memory.swapUsed)
            add("memory.swap_free", memory.swapFree)
            add("memory.swap_percent", memory.swapPercent)
        }
        if let disk = self.disk {
            for partition in disk.partitions.sorted(by: { $0.mountpoint < $1.mountpoint }) {
                let prefix = "disk.partitions[\(partition.mountpoint)]"
                add(prefix + ".total", partition.total)
                add(prefix + ".used", partition.used)
                add(prefix + ".free", partition.free)
                add(prefix + ".percent", partition.percent)
            }
        }
        if let network = self.io?.network {
            Self.addNetwork(network.total, prefix: "io.network", into: &out)
            for name in network.interfaces.keys.sorted() {
                Self.addNetwork(network.interfaces[name]!, prefix: "io.network.interfaces[\(name)]", into: &out)
            }
        }
        if let diskIO = self.io?.diskIO {
            Self.addDisk(diskIO.total, prefix: "io.disk_io", into: &out)
            for name in diskIO.devices.keys.sorted() {
                Self.addDisk(diskIO.devices[name]!, prefix: "io.disk_io.devices[\(name)]", into: &out)
            }
        }
        if let system = self.system {
            add("system.boot_time", system.bootTime)
            add("system.uptime", system.uptime)
        }
        if let processes = self.processes {
            add("processes.total", Double(processes.total))
        }
        return out
    }

    private static func addNetwork(_ c: NetworkCounters, prefix: String, into out: inout [(name: String, value: Double)]) {
        self.add(prefix: prefix, into: &out, counters: [
            ("bytes_sent", c.bytesSent), ("bytes_recv", c.bytesRecv), ("packets_sent", c.packetsSent), ("packets_recv", c.packetsRecv),
            ("errin", c.errin), ("errout", c.errout), ("dropin", c.dropin), ("dropout", c.dropout),
        ], rates: [
            ("bytes_sent_per_sec", c.bytesSentPerSecond), ("bytes_recv_per_sec", c.bytesRecvPerSecond),
            ("packets_sent_per_sec", c.packetsSentPerSecond), ("packets_recv_per_sec", c.packetsRecvPerSecond),
        ])
    }

    private static func addDisk(_ c: DiskCounters, prefix: String, into out: inout [(name: String, value: Double)]) {
        self.add(prefix: prefix, into: &out, counters: [
            ("read_count", c.readCount), ("write_count", c.writeCount), ("read_bytes", c.readBytes),
            ("write_bytes", c.writeBytes), ("read_time", c.readTime), ("write_time", c.writeTime),
        ], rates: [
            ("read_bytes_per_sec", c.readBytesPerSecond), ("write_bytes_per_sec", c.writeBytesPerSecond),
            ("read_count_per_sec", c.readCountPerSecond), ("write_count_per_sec", c.writeCountPerSecond),
        ])
    }

    /// Raw counters always; rates only when known and finite (none on a first sample or after a reset).
    private static func add(prefix: String, into out: inout [(name: String, value: Double)], counters: [(String, UInt64)], rates: [(String, Double?)]) {
        for (name, value) in counters { out.append((prefix + "." + name, Double(value))) }
        for (name, value) in rates { if let value, value.isFinite { out.append((prefix + "." + name, value)) } }
    }

    /// Short names people type, mapped to canonical series names (`cpu.percent` → `cpu.cpu_percent_total`).
    public static let seriesAliases: [String: String] = [
        "cpu.percent": "cpu.cpu_percent_total",
        "cpu.frequency": "cpu.cpu_freq_current",
        "load.1": "cpu.load_average[0]",
        "load.5": "cpu.load_average[1]",
        "load.15": "cpu.load_average[2]",
        "memory.percent": "memory.memory_percent",
        "memory.used": "memory.memory_used",
        "memory.available": "memory.memory_available",
        "memory.total": "memory.memory_total",
        "swap.percent": "memory.swap_percent",
        "swap.used": "memory.swap_used",
        "network.bytes_sent_per_sec": "io.network.bytes_sent_per_sec",
        "network.bytes_recv_per_sec": "io.network.bytes_recv_per_sec",
        "disk_io.read_bytes_per_sec": "io.disk_io.read_bytes_per_sec",
        "disk_io.write_bytes_per_sec": "io.disk_io.write_bytes_per_sec",
    ]

    /// The canonical series name for what a person typed: the target of an alias, or the name itself.
    public static func canonicalSeriesName(_ name: String) -> String {
        if let alias = Self.seriesAliases[name] { return alias }
        return name
    }
}
