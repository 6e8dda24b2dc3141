import VigilAPI
import VigilMetrics

extension FleetExposition {
    /// A family with one value per host, from its liveness and its latest sample.
    struct ScalarFamily: Sendable {
        let name: StaticString
        let help: StaticString
        let value: @Sendable (AgentStatus?, MetricsDocument?) -> Double?
    }

    /// A family with one value per file system, interface or disk of a host.
    struct InstanceFamily<Input>: Sendable {
        let name: StaticString
        let type: StaticString
        let help: StaticString
        let value: @Sendable (Input) -> Double?
    }

    /// In the order they are written; `vigil_host_up` first (the state set follows it).
    static let scalarFamilies: [ScalarFamily] = [
        .init(name: "vigil_host_up", help: "1 while the host is alive (CONNECTED, HEALTHY, SUSPECT or RECOVERED), 0 when DOWN or STOPPED.") { status, _ in
            status.map { $0.state == .down || $0.state == .stopped ? 0 : 1 }
        },
        .init(name: "vigil_host_connected", help: "1 while the host's agent has a registered connection open.") { status, _ in status.map { $0.connected ? 1 : 0 } },
        .init(name: "vigil_host_last_seen_timestamp_seconds", help: "When the server last heard from the host (a heartbeat or a registration), Unix seconds.") { status, _ in
            status?.lastSeen?.timeIntervalSince1970
        },
        .init(name: "vigil_host_last_sample_timestamp_seconds", help: "When the host took its latest metrics sample (its own clock), Unix seconds.") { _, document in
            document?.timestamp.timeIntervalSince1970
        },
        .init(name: "vigil_cpu_percent", help: "Busy share of all the host's CPUs over the latest sample interval, 0-100.") { $1?.cpu?.cpuPercentTotal },
        .init(name: "vigil_cpus_logical", help: "Logical CPUs of the host.") { $1?.cpu.map { Double($0.cpuCountLogical) } },
        .init(name: "vigil_load1", help: "Load average over 1 minute.") { $1?.cpu?.loadAverage.flatMap { $0.count > 0 ? $0[0] : nil } },
        .init(name: "vigil_load5", help: "Load average over 5 minutes.") { $1?.cpu?.loadAverage.flatMap { $0.count > 1 ? $0[1] : nil } },
        .init(name: "vigil_load15", help: "Load average over 15 minutes.") { $1?.cpu?.loadAverage.flatMap { $0.count > 2 ? $0[2] : nil } },
        .init(name: "vigil_memory_percent", help: "Memory in use, percent of the total.") { $1?.memory?.memoryPercent },
        .init(name: "vigil_memory_used_bytes", help: "Memory in use (total - free - buffers - cache - reclaimable slab), bytes.") { $1?.memory.map { Double($0.memoryUsed) } },
        .init(name: "vigil_memory_available_bytes", help: "Memory available for new work without swapping, bytes.") { $1?.memory.map { Double($0.memoryAvailable) } },
        .init(name: "vigil_memory_total_bytes", help: "Physical memory, bytes.") { $1?.memory.map { Double($0.memoryTotal) } },
        .init(name: "vigil_swap_percent", help: "Swap in use, percent of the total.") { $1?.memory?.swapPercent },
        .init(name: "vigil_swap_used_bytes", help: "Swap in use, bytes.") { $1?.memory.map { Double($0.swapUsed) } },
        .init(name: "vigil_swap_total_bytes", help: "Swap space, bytes.") { $1?.memory.map { Double($0.swapTotal) } },
        .init(name: "vigil_uptime_seconds", help: "Seconds since the host booted.") { $1?.system?.uptime },
        .init(name: "vigil_boot_time_seconds", help: "When the host booted, Unix seconds.") { $1?.system?.bootTime },
        .init(name: "vigil_processes", help: "Processes on the host.") { $1?.processes.map { Double($0.total) } },
    ]

    static let filesystemFamilies: [InstanceFamily<MetricsDocument.Disk.Partition>] = [
        .init(name: "vigil_filesystem_size_bytes", type: "gauge", help: "File system size, bytes.") { Double($0.total) },
        .init(name: "vigil_filesystem_used_bytes", type: "gauge", help: "File system space in use (size - free), bytes.") { Double($0.used) },
        .init(name: "vigil_filesystem_free_bytes", type: "gauge", help: "File system space an unprivileged user may still use, bytes.") { Double($0.free) },
        .init(name: "vigil_filesystem_percent", type: "gauge", help: "File system space in use, percent (used / (used + free), as df shows it).") { $0.percent },
    ]

    static let interfaceFamilies: [InstanceFamily<MetricsDocument.NetworkCounters>] = [
        .init(name: "vigil_network_receive_bytes_per_second", type: "gauge", help: "Bytes received per second over the latest sample interval.") { $0.bytesRecvPerSecond },
        .init(name: "vigil_network_transmit_bytes_per_second", type: "gauge", help: "Bytes sent per second over the latest sample interval.") { $0.bytesSentPerSecond },
        .init(name: "vigil_network_receive_packets_per_second", type: "gauge", help: "Packets received per second over the latest sample interval.") { $0.packetsRecvPerSecond },
        .init(name: "vigil_network_transmit_packets_per_second", type: "gauge", help: "Packets sent per second over the latest sample interval.") { $0.packetsSentPerSecond },
        .init(name: "vigil_network_receive_bytes_total", type: "counter", help: "Bytes received since boot.") { Double($0.bytesRecv) },
        .init(name: "vigil_network_transmit_bytes_total", type: "counter", help: "Bytes sent since boot.") { Double($0.bytesSent) },
        .init(name: "vigil_network_receive_packets_total", type: "counter", help: "Packets received since boot.") { Double($0.packetsRecv) },
        .init(name: "vigil_network_transmit_packets_total", type: "counter", help: "Packets sent since boot.") { Double($0.packetsSent) },
        .init(name: "vigil_network_receive_errors_total", type: "counter", help: "Receive errors since boot.") { Double($0.errin) },
        .init(name: "vigil_network_transmit_errors_total", type: "counter", help: "Transmit errors since boot.") { Double($0.errout) },
        .init(name: "vigil_network_receive_drop_total", type: "counter", help: "Received packets dropped since boot.") { Double($0.dropin) },
        .init(name: "vigil_network_transmit_drop_total", type: "counter", help: "Outgoing packets dropped since boot.") { Double($0.dropout) },
    ]

    static let diskFamilies: [InstanceFamily<MetricsDocument.DiskCounters>] = [
        .init(name: "vigil_disk_read_bytes_per_second", type: "gauge", help: "Bytes read per second over the latest sample interval.") { $0.readBytesPerSecond },
        .init(name: "vigil_disk_written_bytes_per_second", type: "gauge", help: "Bytes written per second over the latest sample interval.") { $0.writeBytesPerSecond },
        .init(name: "vigil_disk_reads_per_second", type: "gauge", help: "Reads completed per second over the latest sample interval.") { $0.readCountPerSecond },
        .init(name: "vigil_disk_writes_per_second", type: "gauge", help: "Writes completed per second over the latest sample interval.") { $0.writeCountPerSecond },
        .init(name: "vigil_disk_read_bytes_total", type: "counter", help: "Bytes read since boot.") { Double($0.readBytes) },
        .init(name: "vigil_disk_written_bytes_total", type: "counter", help: "Bytes written since boot.") { Double($0.writeBytes) },
        .init(name: "vigil_disk_reads_completed_total", type: "counter", help: "Reads completed since boot.") { Double($0.readCount) },
        .init(name: "vigil_disk_writes_completed_total", type: "counter", help: "Writes completed since boot.") { Double($0.writeCount) },
        .init(name: "vigil_disk_read_time_seconds_total", type: "counter", help: "Seconds spent reading since boot (from /proc/diskstats).") { Double($0.readTime) / 1000 },
        .init(name: "vigil_disk_write_time_seconds_total", type: "counter", help: "Seconds spent writing since boot (from /proc/diskstats).") { Double($0.writeTime) / 1000 },
    ]
}
