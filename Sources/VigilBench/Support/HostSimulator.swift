import Foundation
import NIOCore
import VigilMetrics

/// One simulated host's figures, advanced sample by sample: what a 4-core Linux server with two
/// network interfaces, two disks and three filesystems reports every 5 s.
///
/// The values move the way real ones do, because storage size depends on it: CPU and load wander
/// around a per-host level, percentages are rounded to 0.01 as the collectors round them,
/// counters only grow (by a jittered rate times the interval), rates are a counter delta over a
/// slightly jittered measured interval (so they carry full double precision, as the collectors'
/// rates do), memory moves in whole pages, filesystems fill slowly, uptime grows by the interval.
///
/// The same state is written either straight to JSON bytes (``writeEnvelope(into:hostname:timestampMs:sequence:)``,
/// the load generator's path) or as a `MetricsDocument` (``document(hostname:timestampMs:)``,
/// used once at start to check that both say exactly the same thing).
struct HostSimulator: Sendable {
    static let cores = 4
    static let interfaceNames = ["eth0", "eth1"]
    static let deviceNames = ["sda", "sdb"]
    static let partitionMounts = ["/", "/boot", "/var/lib"]
    static let partitionDevices = ["/dev/sda1", "/dev/sda2", "/dev/sdb1"]
    static let partitionTypes = ["ext4", "ext4", "xfs"]
    static let processNames = ["postgres", "java", "nginx", "node", "python3", "vigil-agent", "sshd", "systemd", "containerd", "chronyd"]
    static let processUsers = ["postgres", "app", "www-data", "app", "app", "root", "root", "root", "root", "_chrony"]

    private var random: SplitMix
    /// Rates rounded to this many decimals; `nil`: full precision, as the collectors send them.
    private let rateDecimals: Int?

    // CPU
    private var cpuLevel: Double
    private var perCore: [Double]
    private var load: [Double]
    private let frequency: Double
    // Memory, bytes
    private let memoryTotal: UInt64
    private var memoryUsed: UInt64
    private var memoryCache: UInt64
    private let swapTotal: UInt64
    private var swapUsed: UInt64
    // Filesystems
    private let partitionTotal: [UInt64]
    private var partitionUsed: [UInt64]
    // Network interfaces: bytes/packets sent and received per second (mean), then the counters.
    private let interfaceRates: [[Double]]
    private var interfaceCounters: [[UInt64]]  // bytes_sent, bytes_recv, packets_sent, packets_recv, errin, errout, dropin, dropout
    private var interfacePerSecond: [[Double]]
    // Disks
    private let deviceRates: [[Double]]  // reads/s, writes/s, read bytes/s, written bytes/s
    private var deviceCounters: [[UInt64]]  // read_count, write_count, read_bytes, write_bytes, read_time, write_time
    private var devicePerSecond: [[Double]]
    // System and processes
    private let bootTime: Double
    private var processTotal: Int
    private var processCPU: [Double]
    private var processRSS: [UInt64]
    private let processPIDs: [Int]
    /// Indices of the top 5 processes by CPU and by memory (sorted once per sample, in `advance`).
    private var topCPU: [Int] = []
    private var topMemory: [Int] = []

    /// - Parameters:
    ///   - seed: Makes each host different and each run the same.
    ///   - startMs: The first sample's time (uptime is counted from the boot time derived from it).
    ///   - rateDecimals: Round the `*_per_sec` rates to this many decimals (`nil`: unrounded, like the collectors).
    init(seed: UInt64, startMs: Int64, rateDecimals: Int? = nil) {
        self.rateDecimals = rateDecimals
        var random = SplitMix(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        self.cpuLevel = random.uniform(3, 60)
        self.perCore = (0..<Self.cores).map { _ in random.uniform(0, 100) }
        self.load = [random.uniform(0.1, 3), random.uniform(0.1, 3), random.uniform(0.1, 3)]
        self.frequency = [2199.998, 2445.406, 2994.374, 3300.0][Int(random.next() % 4)]
        let gib: UInt64 = 1 << 30
        self.memoryTotal = [8, 16, 32, 64][Int(random.next() % 4)] * gib - 213 * 4096 * UInt64(1 + random.next() % 900)
        self.memoryUsed = UInt64(Double(self.memoryTotal) * random.uniform(0.2, 0.7)) / 4096 * 4096
        self.memoryCache = UInt64(Double(self.memoryTotal) * random.uniform(0.05, 0.2)) / 4096 * 4096
        self.swapTotal = 2 * gib
        self.swapUsed = random.next() % 3 == 0 ? UInt64(random.uniform(0, 200)) * (1 << 20) : 0
        self.partitionTotal = [UInt64(random.uniform(40, 200)) * gib, 1 * gib, UInt64(random.uniform(200, 2000)) * gib]
        self.partitionUsed = self.partitionTotal.map { UInt64(Double($0) * random.uniform(0.1, 0.9)) / 4096 * 4096 }
        self.interfaceRates = (0..<Self.interfaceNames.count).map { index in
            let scale = index == 0 ? 1.0 : 0.05
            let sent = random.uniform(2_000, 5_000_000) * scale
            let received = random.uniform(2_000, 5_000_000) * scale
            return [sent, received, sent / random.uniform(200, 1400), received / random.uniform(200, 1400)]
        }
        self.interfaceCounters = (0..<Self.interfaceNames.count).map { _ in
            [random.next() % (1 << 40), random.next() % (1 << 40), random.next() % (1 << 30), random.next() % (1 << 30),
             random.next() % 3 == 0 ? random.next() % 50 : 0, 0, random.next() % 1000, 0]
        }
        self.interfacePerSecond = Array(repeating: [0, 0, 0, 0], count: Self.interfaceNames.count)
        self.deviceRates = (0..<Self.deviceNames.count).map { _ in
            let reads = random.uniform(0.5, 200)
            let writes = random.uniform(1, 300)
            return [reads, writes, reads * random.uniform(4096, 65536), writes * random.uniform(4096, 32768)]
        }
        self.deviceCounters = (0..<Self.deviceNames.count).map { _ in
            [random.next() % (1 << 28), random.next() % (1 << 30), random.next() % (1 << 42), random.next() % (1 << 43),
             random.next() % (1 << 32), random.next() % (1 << 34)]
        }
        self.devicePerSecond = Array(repeating: [0, 0, 0, 0], count: Self.deviceNames.count)
        self.bootTime = Double(startMs / 1000) - random.uniform(3_600, 90 * 86_400).rounded()
        self.processTotal = Int(random.uniform(120, 600))
        self.processCPU = (0..<Self.processNames.count).map { _ in random.uniform(0, 80) }
        self.processRSS = (0..<Self.processNames.count).map { _ in UInt64(random.uniform(4, 4096)) * (1 << 20) }
        self.processPIDs = (0..<Self.processNames.count).map { _ in Int(random.next() % 4_000_000) + 1 }
        self.random = random
        self.advance(seconds: 5)
    }

    /// Moves the figures on by one sample interval.
    mutating func advance(seconds: Double) {
        // The collectors' interval is measured, so it is never exactly the nominal one.
        // At the stream benchmark's 1 ms steps the jitter must not make it negative: the server
        // refuses a negative rate (`invalid_field`), as no collector can measure one.
        let measured = max(seconds / 2, seconds + self.random.uniform(-0.004, 0.004))
        self.cpuLevel = min(95, max(1, self.cpuLevel + self.random.uniform(-2, 2)))
        for core in 0..<Self.cores {
            self.perCore[core] = Self.round2(min(100, max(0, self.cpuLevel + self.random.uniform(-15, 15))))
        }
        let busy = self.cpuLevel / 100 * Double(Self.cores)
        let decay = [exp(-seconds / 60), exp(-seconds / 300), exp(-seconds / 900)]
        for index in 0..<3 {
            let instant = max(0, busy + self.random.uniform(-0.8, 0.8))
            self.load[index] = Self.round2(self.load[index] * decay[index] + instant * (1 - decay[index]))
        }

        let pages = Int64(self.random.uniform(-2_000, 2_000))
        self.memoryUsed = UInt64(max(Int64(self.memoryTotal / 10), min(Int64(self.memoryTotal * 9 / 10), Int64(self.memoryUsed) + pages * 4096)))
        self.memoryCache = UInt64(max(0, min(Int64(self.memoryTotal - self.memoryUsed) / 2, Int64(self.memoryCache) + Int64(self.random.uniform(-200, 260)) * 4096)))
        if self.swapUsed > 0, self.random.next() % 20 == 0 {
            self.swapUsed += 4096 * (self.random.next() % 64)
        }

        for index in self.partitionUsed.indices where index != 1 {
            let grown = self.partitionUsed[index] + 4096 * (self.random.next() % 512)
            self.partitionUsed[index] = min(grown, self.partitionTotal[index] - self.partitionTotal[index] / 20)
        }

        for interface in self.interfaceCounters.indices {
            for counter in 0..<4 {
                let increase = UInt64(max(0, self.interfaceRates[interface][counter] * self.random.uniform(0.5, 1.5) * seconds))
                self.interfaceCounters[interface][counter] &+= increase
                self.interfacePerSecond[interface][counter] = self.rate(Double(increase) / measured)
            }
            if self.random.next() % 50 == 0 { self.interfaceCounters[interface][6] += 1 }
        }
        for device in self.deviceCounters.indices {
            for counter in 0..<4 {
                var increase = UInt64(max(0, self.deviceRates[device][counter] * self.random.uniform(0.3, 1.7) * seconds))
                if counter >= 2 { increase = increase / 512 * 512 }  // sectors
                self.deviceCounters[device][counter] &+= increase
                self.devicePerSecond[device][counter] = self.rate(Double(increase) / measured)
            }
            self.deviceCounters[device][4] &+= UInt64(self.random.uniform(0, 40))
            self.deviceCounters[device][5] &+= UInt64(self.random.uniform(0, 120))
        }

        self.processTotal = max(50, self.processTotal + Int(self.random.next() % 5) - 2)
        for index in self.processCPU.indices {
            self.processCPU[index] = Self.round2(max(0, self.processCPU[index] + self.random.uniform(-5, 5)))
            self.processRSS[index] = UInt64(max(1 << 20, Int64(self.processRSS[index]) + Int64(self.random.uniform(-64, 64)) * 4096))
        }
        let cpu = self.processCPU
        let rss = self.processRSS
        self.topCPU = Array(cpu.indices.sorted { cpu[$0] > cpu[$1] }.prefix(5))
        self.topMemory = Array(rss.indices.sorted { rss[$0] > rss[$1] }.prefix(5))
    }

    static func round2(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    private func rate(_ value: Double) -> Double {
        guard let decimals = self.rateDecimals else { return value }
        let scale = pow(10, Double(decimals))
        return (value * scale).rounded() / scale
    }

    // MARK: Derived figures, shared by both encodings

    private var cpuTotal: Double { Self.round2(self.perCore.reduce(0, +) / Double(Self.cores)) }
    private var memoryFree: UInt64 { self.memoryTotal - self.memoryUsed - self.memoryCache }
    private var memoryAvailable: UInt64 { self.memoryFree + self.memoryCache * 9 / 10 }
    private var memoryPercent: Double { Self.percent(self.memoryTotal - self.memoryAvailable, of: self.memoryTotal) }
    private var swapPercent: Double { Self.percent(self.swapUsed, of: self.swapTotal) }
    private func partitionFree(_ index: Int) -> UInt64 {
        // `free` is what an unprivileged user may use: 5 % is reserved on ext4.
        let reserved = Self.partitionTypes[index] == "ext4" ? self.partitionTotal[index] / 20 : 0
        return self.partitionTotal[index] - self.partitionUsed[index] - reserved
    }
    private func partitionPercent(_ index: Int) -> Double {
        Self.percent(self.partitionUsed[index], of: self.partitionUsed[index] + self.partitionFree(index))
    }

    private static func percent(_ part: UInt64, of whole: UInt64) -> Double {
        whole == 0 ? 0 : (Double(part) / Double(whole) * 10_000).rounded() / 100
    }

    private func interfaceTotal() -> (counters: [UInt64], perSecond: [Double]) {
        var counters = [UInt64](repeating: 0, count: 8)
        var perSecond = [Double](repeating: 0, count: 4)
        for interface in self.interfaceCounters.indices {
            for counter in 0..<8 { counters[counter] &+= self.interfaceCounters[interface][counter] }
            for counter in 0..<4 { perSecond[counter] += self.interfacePerSecond[interface][counter] }
        }
        return (counters, perSecond)
    }

    private func deviceTotal() -> (counters: [UInt64], perSecond: [Double]) {
        var counters = [UInt64](repeating: 0, count: 6)
        var perSecond = [Double](repeating: 0, count: 4)
        for device in self.deviceCounters.indices {
            for counter in 0..<6 { counters[counter] &+= self.deviceCounters[device][counter] }
            for counter in 0..<4 { perSecond[counter] += self.devicePerSecond[device][counter] }
        }
        return (counters, perSecond)
    }

    /// The processes sorted by CPU and by memory, top 5 each.
    private func topProcesses() -> (cpu: [Int], memory: [Int]) { (self.topCPU, self.topMemory) }

    // MARK: Straight to JSON

    /// Writes a whole `METRICS` envelope (the frame payload; the framing adds the length).
    ///
    /// - Parameters:
    ///   - sequence: Numbers the host's frames; it makes the UUID-shaped `message_id` unique.
    func writeEnvelope(into buffer: inout ByteBuffer, hostname: String, hostIndex: Int, timestampMs: Int64, sequence: Int) {
        var w = JSONWriter(buffer: buffer)
        buffer = ByteBuffer()  // hand the storage to the writer so appends do not copy it
        w.raw(#"{"type":"METRICS","sender_id":"#)
        w.string(hostname)
        w.raw(#","payload":{"hostname":"#)
        w.string(hostname)
        w.raw(#","timestamp":"#)
        w.iso8601(milliseconds: timestampMs)

        w.raw(#","cpu":{"cpu_percent_total":"#)
        w.hundredths(self.cpuTotal)
        w.raw(#","cpu_percent_per_core":["#)
        for core in 0..<Self.cores {
            if core > 0 { w.raw(",") }
            w.hundredths(self.perCore[core])
        }
        w.raw(#"],"cpu_count_logical":4,"cpu_count_physical":2,"cpu_freq_current":"#)
        w.double(self.frequency)
        w.raw(#","load_average":["#)
        w.hundredths(self.load[0]); w.raw(","); w.hundredths(self.load[1]); w.raw(","); w.hundredths(self.load[2])
        w.raw("]}")

        w.raw(#","memory":{"memory_total":"#); w.integer(self.memoryTotal)
        w.raw(#","memory_available":"#); w.integer(self.memoryAvailable)
        w.raw(#","memory_used":"#); w.integer(self.memoryUsed)
        w.raw(#","memory_free":"#); w.integer(self.memoryFree)
        w.raw(#","memory_percent":"#); w.hundredths(self.memoryPercent)
        w.raw(#","swap_total":"#); w.integer(self.swapTotal)
        w.raw(#","swap_used":"#); w.integer(self.swapUsed)
        w.raw(#","swap_free":"#); w.integer(self.swapTotal - self.swapUsed)
        w.raw(#","swap_percent":"#); w.hundredths(self.swapPercent)
        w.raw("}")

        w.raw(#","disk":{"partitions":["#)
        for index in Self.partitionMounts.indices {
            if index > 0 { w.raw(",") }
            w.raw(#"{"device":"#); w.string(Self.partitionDevices[index])
            w.raw(#","mountpoint":"#); w.string(Self.partitionMounts[index])
            w.raw(#","fstype":"#); w.string(Self.partitionTypes[index])
            w.raw(#","total":"#); w.integer(self.partitionTotal[index])
            w.raw(#","used":"#); w.integer(self.partitionUsed[index])
            w.raw(#","free":"#); w.integer(self.partitionFree(index))
            w.raw(#","percent":"#); w.hundredths(self.partitionPercent(index))
            w.raw("}")
        }
        w.raw("]}")

        w.raw(#","io":{"network":"#)
        let network = self.interfaceTotal()
        Self.writeNetwork(&w, counters: network.counters, perSecond: network.perSecond, closing: false)
        w.raw(#","interfaces":{"#)
        for index in Self.interfaceNames.indices {
            if index > 0 { w.raw(",") }
            w.string(Self.interfaceNames[index]); w.raw(":")
            Self.writeNetwork(&w, counters: self.interfaceCounters[index], perSecond: self.interfacePerSecond[index], closing: true)
        }
        w.raw("}}")
        w.raw(#","disk_io":"#)
        let disks = self.deviceTotal()
        Self.writeDisk(&w, counters: disks.counters, perSecond: disks.perSecond, closing: false)
        w.raw(#","devices":{"#)
        for index in Self.deviceNames.indices {
            if index > 0 { w.raw(",") }
            w.string(Self.deviceNames[index]); w.raw(":")
            Self.writeDisk(&w, counters: self.deviceCounters[index], perSecond: self.devicePerSecond[index], closing: true)
        }
        w.raw("}}}")

        w.raw(#","system":{"os":"Debian GNU/Linux 12 (bookworm)","kernel":"6.1.0-27-amd64","architecture":"x86_64","hostname":"#)
        w.string(hostname)
        w.raw(#","boot_time":"#); w.double(self.bootTime)
        w.raw(#","uptime":"#); w.double(Double(timestampMs) / 1000 - self.bootTime)
        w.raw("}")

        w.raw(#","processes":{"total":"#); w.integer(self.processTotal)
        let top = self.topProcesses()
        w.raw(#","top_cpu":["#)
        self.writeProcesses(&w, top.cpu)
        w.raw(#"],"top_memory":["#)
        self.writeProcesses(&w, top.memory)
        w.raw("]}}")

        w.raw(#","timestamp":"#)
        w.double(Double(timestampMs) / 1000)
        w.raw(#","message_id":"#)
        Self.writeMessageID(&w, host: hostIndex, sequence: sequence)
        w.raw("}")
        buffer = w.buffer
    }

    private static func writeNetwork(_ w: inout JSONWriter, counters c: [UInt64], perSecond r: [Double], closing: Bool) {
        w.raw(#"{"bytes_sent":"#); w.integer(c[0])
        w.raw(#","bytes_recv":"#); w.integer(c[1])
        w.raw(#","packets_sent":"#); w.integer(c[2])
        w.raw(#","packets_recv":"#); w.integer(c[3])
        w.raw(#","errin":"#); w.integer(c[4])
        w.raw(#","errout":"#); w.integer(c[5])
        w.raw(#","dropin":"#); w.integer(c[6])
        w.raw(#","dropout":"#); w.integer(c[7])
        w.raw(#","bytes_sent_per_sec":"#); w.double(r[0])
        w.raw(#","bytes_recv_per_sec":"#); w.double(r[1])
        w.raw(#","packets_sent_per_sec":"#); w.double(r[2])
        w.raw(#","packets_recv_per_sec":"#); w.double(r[3])
        if closing { w.raw("}") }
    }

    private static func writeDisk(_ w: inout JSONWriter, counters c: [UInt64], perSecond r: [Double], closing: Bool) {
        w.raw(#"{"read_count":"#); w.integer(c[0])
        w.raw(#","write_count":"#); w.integer(c[1])
        w.raw(#","read_bytes":"#); w.integer(c[2])
        w.raw(#","write_bytes":"#); w.integer(c[3])
        w.raw(#","read_time":"#); w.integer(c[4])
        w.raw(#","write_time":"#); w.integer(c[5])
        w.raw(#","read_bytes_per_sec":"#); w.double(r[2])
        w.raw(#","write_bytes_per_sec":"#); w.double(r[3])
        w.raw(#","read_count_per_sec":"#); w.double(r[0])
        w.raw(#","write_count_per_sec":"#); w.double(r[1])
        if closing { w.raw("}") }
    }

    private func writeProcesses(_ w: inout JSONWriter, _ indices: [Int]) {
        for (position, index) in indices.enumerated() {
            if position > 0 { w.raw(",") }
            w.raw(#"{"pid":"#); w.integer(self.processPIDs[index])
            w.raw(#","name":"#); w.string(Self.processNames[index])
            w.raw(#","user":"#); w.string(Self.processUsers[index])
            w.raw(#","cpu_percent":"#); w.hundredths(self.processCPU[index])
            w.raw(#","rss":"#); w.integer(self.processRSS[index])
            w.raw("}")
        }
    }

    /// A lower-case UUID-shaped id (version 4 layout) that encodes the host and the frame number.
    private static func writeMessageID(_ w: inout JSONWriter, host: Int, sequence: Int) {
        let text = "00000000-0000-4000-8000-000000000000"
        var bytes = Array(text.utf8)
        func put(_ value: UInt64, at end: Int, digits: Int) {
            var rest = value
            var position = end
            for _ in 0..<digits {
                while bytes[position] == UInt8(ascii: "-") { position -= 1 }
                let nibble = UInt8(rest & 0xF)
                bytes[position] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
                rest >>= 4
                position -= 1
            }
        }
        put(UInt64(host), at: 7, digits: 8)
        put(UInt64(sequence), at: 35, digits: 12)
        w.buffer.writeInteger(UInt8(ascii: "\""))
        w.buffer.writeBytes(bytes)
        w.buffer.writeInteger(UInt8(ascii: "\""))
    }

    // MARK: Through Codable

    /// The same sample as a document (for the equivalence check and the encoder comparison).
    func document(hostname: String, timestampMs: Int64) -> MetricsDocument {
        var document = MetricsDocument(hostname: hostname, timestamp: Date(timeIntervalSince1970: Double(timestampMs) / 1000))
        document.cpu = .init(cpuPercentTotal: self.cpuTotal, cpuPercentPerCore: self.perCore, cpuCountLogical: 4, cpuCountPhysical: 2, cpuFreqCurrent: self.frequency, loadAverage: self.load)
        document.memory = .init(
            memoryTotal: self.memoryTotal, memoryAvailable: self.memoryAvailable, memoryUsed: self.memoryUsed, memoryFree: self.memoryFree,
            memoryPercent: self.memoryPercent, swapTotal: self.swapTotal, swapUsed: self.swapUsed, swapFree: self.swapTotal - self.swapUsed, swapPercent: self.swapPercent)
        document.disk = .init(partitions: Self.partitionMounts.indices.map { index in
            .init(device: Self.partitionDevices[index], mountpoint: Self.partitionMounts[index], fstype: Self.partitionTypes[index],
                  total: self.partitionTotal[index], used: self.partitionUsed[index], free: self.partitionFree(index), percent: self.partitionPercent(index))
        })
        func network(_ c: [UInt64], _ r: [Double]) -> MetricsDocument.NetworkCounters {
            var counters = MetricsDocument.NetworkCounters(bytesSent: c[0], bytesRecv: c[1], packetsSent: c[2], packetsRecv: c[3], errin: c[4], errout: c[5], dropin: c[6], dropout: c[7])
            counters.bytesSentPerSecond = r[0]
            counters.bytesRecvPerSecond = r[1]
            counters.packetsSentPerSecond = r[2]
            counters.packetsRecvPerSecond = r[3]
            return counters
        }
        func disk(_ c: [UInt64], _ r: [Double]) -> MetricsDocument.DiskCounters {
            var counters = MetricsDocument.DiskCounters(readCount: c[0], writeCount: c[1], readBytes: c[2], writeBytes: c[3], readTime: c[4], writeTime: c[5])
            counters.readCountPerSecond = r[0]
            counters.writeCountPerSecond = r[1]
            counters.readBytesPerSecond = r[2]
            counters.writeBytesPerSecond = r[3]
            return counters
        }
        let networkTotal = self.interfaceTotal()
        let diskTotal = self.deviceTotal()
        var interfaces: [String: MetricsDocument.NetworkCounters] = [:]
        for (index, name) in Self.interfaceNames.enumerated() { interfaces[name] = network(self.interfaceCounters[index], self.interfacePerSecond[index]) }
        var devices: [String: MetricsDocument.DiskCounters] = [:]
        for (index, name) in Self.deviceNames.enumerated() { devices[name] = disk(self.deviceCounters[index], self.devicePerSecond[index]) }
        document.io = .init(
            network: .init(total: network(networkTotal.counters, networkTotal.perSecond), interfaces: interfaces),
            diskIO: .init(total: disk(diskTotal.counters, diskTotal.perSecond), devices: devices))
        document.system = .init(os: "Debian GNU/Linux 12 (bookworm)", kernel: "6.1.0-27-amd64", architecture: "x86_64", hostname: hostname,
                                bootTime: self.bootTime, uptime: Double(timestampMs) / 1000 - self.bootTime)
        let top = self.topProcesses()
        let process = { (index: Int) in
            MetricsDocument.Processes.Process(pid: self.processPIDs[index], name: Self.processNames[index], user: Self.processUsers[index], cpuPercent: self.processCPU[index], rss: self.processRSS[index])
        }
        document.processes = .init(total: self.processTotal, topCPU: top.cpu.map(process), topMemory: top.memory.map(process))
        return document
    }
}

/// SplitMix64: a tiny, fast, seedable generator (the simulation needs variety, not cryptography).
struct SplitMix: Sendable {
    private var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `[low, high)`.
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + Double(self.next() >> 11) * (1.0 / 9_007_199_254_740_992.0) * (high - low)
    }
}

extension HostSimulator {
    /// Values each simulated sample adds to the store (`MetricsDocument.series()`: the same for every host).
    static var seriesPerSample: Int {
        HostSimulator(seed: 1, startMs: 0).document(hostname: "series-count", timestampMs: 0).series().count
    }
}
