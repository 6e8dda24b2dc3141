import Foundation
import NIOCore
import Testing
import VigilAPI
import VigilMetrics
@testable import VigilServer

/// The `/metrics/fleet` renderer on its own: escaping, hostile names, hosts without samples or
/// without liveness, number formatting, and what `promtool check metrics` says of it.
@Suite("Fleet exposition renderer")
struct FleetExpositionTests {
    static let now = Date(timeIntervalSince1970: 1_765_000_000)

    static func status(_ host: String, _ state: LivenessState, connected: Bool = true) -> AgentStatus {
        AgentStatus(hostname: host, state: state, stateSince: now, lastSeen: now, connected: connected, address: nil, agentVersion: nil, phi: nil)
    }

    /// A sample with every section, a file system and an interface named as given.
    static func sample(mountpoint: String = "/", device: String = "/dev/sda1", interface: String = "eth0", cpu: Double = 12.5) -> LatestSample {
        var document = MetricsDocument(timestamp: now.addingTimeInterval(-2))
        document.cpu = .init(cpuPercentTotal: cpu, cpuCountLogical: 4, loadAverage: [0.5, 0.25, 1.125])
        document.memory = .init(memoryTotal: 8_000_000_000, memoryAvailable: 6_000_000_000, memoryUsed: 2_000_000_000, memoryFree: 5_000_000_000,
                                memoryPercent: 25, swapTotal: 1024, swapUsed: 0, swapFree: 1024, swapPercent: 0)
        document.disk = .init(partitions: [.init(device: device, mountpoint: mountpoint, fstype: "ext4", total: 100, used: 40, free: 60, percent: 40)])
        var counters = MetricsDocument.NetworkCounters(bytesSent: 10, bytesRecv: 20, packetsSent: 1, packetsRecv: 2, errin: 0, errout: 0, dropin: 0, dropout: 0)
        counters.bytesRecvPerSecond = 1536.25
        var disk = MetricsDocument.DiskCounters(readCount: 5, writeCount: 6, readBytes: 4096, writeBytes: 8192, readTime: 1500, writeTime: 250)
        disk.readBytesPerSecond = 100
        document.io = .init(network: .init(total: counters, interfaces: [interface: counters]), diskIO: .init(total: disk, devices: ["sda": disk]))
        document.system = .init(os: "Debian", kernel: "6.1", architecture: "x86_64", hostname: nil, bootTime: 1_764_000_000, uptime: 1_000_000)
        document.processes = .init(total: 123, topCPU: [], topMemory: [])
        return LatestSample(document: document, receivedAt: now)
    }

    static func text(_ statuses: [AgentStatus], _ samples: [String: LatestSample]) -> String {
        let buffer = FleetExposition(statuses: statuses, samples: samples).render()
        return String(buffer: buffer)
    }

    @Test("a host's liveness and values: up, one state at 1, CPU, memory, load, file system, interface, disk")
    func values() {
        let text = Self.text([Self.status("web1", .healthy)], ["web1": Self.sample()])
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            #"vigil_host_up{host="web1"} 1"#,
            #"vigil_host_state{host="web1",state="HEALTHY"} 1"#,
            #"vigil_host_state{host="web1",state="DOWN"} 0"#,
            #"vigil_host_connected{host="web1"} 1"#,
            #"vigil_host_last_sample_timestamp_seconds{host="web1"} 1764999998"#,
            #"vigil_cpu_percent{host="web1"} 12.5"#,
            #"vigil_load15{host="web1"} 1.125"#,
            #"vigil_memory_total_bytes{host="web1"} 8000000000"#,
            #"vigil_swap_total_bytes{host="web1"} 1024"#,
            #"vigil_filesystem_percent{host="web1",mountpoint="/",device="/dev/sda1",fstype="ext4"} 40"#,
            #"vigil_network_receive_bytes_per_second{host="web1",interface="eth0"} 1536.25"#,
            #"vigil_network_receive_bytes_total{host="web1",interface="eth0"} 20"#,
            #"vigil_disk_read_time_seconds_total{host="web1",device="sda"} 1.5"#,
            #"vigil_processes{host="web1"} 123"#,
            "# TYPE vigil_network_receive_bytes_total counter",
            "# TYPE vigil_cpu_percent gauge",
        ] {
            #expect(lines.contains(expected), "missing: \(expected)")
        }
        #expect(text.components(separatedBy: "vigil_host_state{").count - 1 == LivenessState.allCases.count)
        // Rates the sample does not carry are left out, not written as 0.
        #expect(!text.contains("vigil_network_transmit_bytes_per_second{"))
    }

    @Test("a DOWN host is up 0; a STOPPED one too")
    func down() {
        let text = Self.text([Self.status("a", .down, connected: false), Self.status("b", .stopped, connected: false), Self.status("c", .suspect)], [:])
        #expect(text.contains(#"vigil_host_up{host="a"} 0"#))
        #expect(text.contains(#"vigil_host_up{host="b"} 0"#))
        #expect(text.contains(#"vigil_host_up{host="c"} 1"#))
        #expect(text.contains(#"vigil_host_state{host="a",state="DOWN"} 1"#))
    }

    @Test("a host with no sample yet has its liveness only; a host with samples but no agent has its values only")
    func partialHosts() {
        let text = Self.text([Self.status("fresh", .connected)], ["scripted": Self.sample()])
        #expect(text.contains(#"vigil_host_up{host="fresh"} 1"#))
        #expect(!text.contains(#"vigil_cpu_percent{host="fresh"}"#))
        #expect(!text.contains(#"vigil_host_last_sample_timestamp_seconds{host="fresh"}"#))
        #expect(text.contains(#"vigil_cpu_percent{host="scripted"} 12.5"#))
        #expect(!text.contains(#"vigil_host_up{host="scripted"}"#))
    }

    @Test("an empty fleet renders nothing at all (no family without samples)")
    func empty() {
        #expect(Self.text([], [:]).isEmpty)
    }

    @Test("label values escape backslash, double quote and line feed; other bytes pass as they are")
    func escaping() {
        #expect(ExpositionWriter.renderLabel("mountpoint", #"/mnt/a\b"#) == #"mountpoint="/mnt/a\\b""#)
        #expect(ExpositionWriter.renderLabel("mountpoint", #"/mnt/"x""#) == #"mountpoint="/mnt/\"x\"""#)
        #expect(ExpositionWriter.renderLabel("mountpoint", "/mnt/a\nb") == #"mountpoint="/mnt/a\nb""#)
        #expect(ExpositionWriter.renderLabel("mountpoint", "/mnt/a\tb é}{,=") == "mountpoint=\"/mnt/a\tb é}{,=\"")
    }

    @Test("a hostile mount point, device and interface name stay inside their label, one line per sample")
    func hostileNames() {
        let hostile = "/mnt/evil\"} 1\nvigil_host_up{host=\"forged\"} 1\n\\"
        let text = Self.text([Self.status("web1", .healthy)], ["web1": Self.sample(mountpoint: hostile, device: hostile, interface: hostile)])
        #expect(!text.contains("host=\"forged\"} 1\n"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        for line in lines where !line.hasPrefix("#") {
            // name{labels} value: exactly one "} " outside the quoted label values.
            #expect(Self.isWellFormed(String(line)), "malformed: \(line)")
        }
        #expect(text.contains(#"mountpoint="/mnt/evil\"} 1\nvigil_host_up{host=\"forged\"} 1\n\\""#))
    }

    @Test("numbers: whole numbers without a fraction, at most six decimals, tiny and huge ones in exponent form, NaN and infinities")
    func numbers() {
        func format(_ value: Double) -> String {
            var writer = ExpositionWriter(buffer: ByteBuffer())
            writer.writeValue(value)
            return String(buffer: writer.buffer)
        }
        #expect(format(0) == "0")
        #expect(format(-0.0) == "0")
        #expect(format(42) == "42")
        #expect(format(-42) == "-42")
        #expect(format(18_446_744_073_709_551_615) == "1.8446744073709552e+19")
        #expect(format(12.5) == "12.5")
        #expect(format(0.05) == "0.05")
        #expect(format(1536.123456789) == "1536.123457")
        #expect(format(-3.25) == "-3.25")
        #expect(format(0.000123) == "0.000123")
        #expect(format(.nan) == "NaN")
        #expect(format(.infinity) == "+Inf")
        #expect(format(-.infinity) == "-Inf")
        for value in [0.01, 0.1, 99.99, 123_456.000001, 999_999_999_999.5, 0.015625] {
            #expect(Double(format(value)) == value, "\(value) → \(format(value))")
        }
    }

    @Test("whole numbers of every length, with and without zero padding, as Swift writes them")
    func decimals() {
        func decimal(_ value: UInt64, width: Int = 1) -> String {
            var bytes = [UInt8](repeating: 0, count: 32)
            let end = bytes.withUnsafeMutableBytes { ExpositionWriter.decimal(value, width: width, into: $0, at: 0) }
            return String(decoding: bytes[0..<end], as: UTF8.self)
        }
        var power: UInt64 = 1
        for _ in 0..<19 {
            for value in [power - 1, power, power + 1, power * 9 + 7] {
                #expect(decimal(value) == String(value))
            }
            power *= 10
        }
        #expect(decimal(.max) == String(UInt64.max))
        #expect(decimal(0, width: 6) == "000000")
        #expect(decimal(123, width: 6) == "000123")
        #expect(decimal(12, width: 2) == "12")
        #expect(decimal(123_456, width: 3) == "123456")
    }

    @Test("promtool check metrics finds nothing to say about a fleet with hostile names", .enabled(if: Promtool.path != nil, Promtool.skipReason))
    func promtool() async throws {
        let hostile = "/mnt/evil\"} 1\n\\x"
        let statuses = [Self.status("web1", .healthy), Self.status("db \"1\"", .down, connected: false), Self.status("new", .connected)]
        let samples = ["web1": Self.sample(), "db \"1\"": Self.sample(mountpoint: hostile, interface: "eth\\0"), "scripted": Self.sample(cpu: 0.004)]
        let buffer = FleetExposition(statuses: statuses, samples: samples).render()
        let result = try await Promtool.checkMetrics(Array(buffer.readableBytesView))
        #expect(result.status == 0 && result.output.isEmpty, "promtool: exit \(result.status): \(result.output)")
    }

    /// `name{…} value` where the braces hold `k="v"` pairs with escaped values.
    static func isWellFormed(_ line: String) -> Bool {
        var bytes = Array(line.utf8)[...]
        while let first = bytes.first, first != UInt8(ascii: "{") { bytes = bytes.dropFirst() }
        guard bytes.first == UInt8(ascii: "{") else { return false }
        bytes = bytes.dropFirst()
        var inQuotes = false
        var escaped = false
        while let byte = bytes.first {
            bytes = bytes.dropFirst()
            if byte == UInt8(ascii: "\n") { return false }
            if escaped { escaped = false; continue }
            if inQuotes {
                if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inQuotes = false }
                continue
            }
            if byte == UInt8(ascii: "\"") { inQuotes = true } else if byte == UInt8(ascii: "}") { break }
        }
        guard bytes.first == UInt8(ascii: " ") else { return false }
        return Double(String(decoding: bytes.dropFirst(), as: UTF8.self)) != nil
    }
}
