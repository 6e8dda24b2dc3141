import Foundation
import NIOCore
import VigilAPI
import VigilMetrics

/// `GET /metrics/fleet`: every host's liveness and latest values as Prometheus text exposition
/// (version 0.0.4), from the in-memory caches (``LivenessTracker``, ``LatestMetrics``): a scrape
/// never reads the database.
///
/// The format wants each family's samples together, so the hosts are walked once per family. Each
/// host's label text (`host="…"`, and those of its file systems, interfaces and disks) is rendered
/// and escaped once per scrape, before the walk; the walk then only copies bytes and formats
/// numbers (``ExpositionWriter``). Families no host has a value for are left out.
///
/// Hosts the tracker knows have `vigil_host_up` and `vigil_host_state`; hosts that only post
/// metrics over HTTP (no agent connection, so no liveness) have their values only. A host with no
/// sample yet has its liveness only.
struct FleetExposition {
    struct Host {
        var labels: String
        var status: AgentStatus?
        var document: MetricsDocument?
        var filesystems: [(labels: String, partition: MetricsDocument.Disk.Partition)] = []
        var interfaces: [(labels: String, counters: MetricsDocument.NetworkCounters)] = []
        var disks: [(labels: String, counters: MetricsDocument.DiskCounters)] = []
    }

    let hosts: [Host]

    /// - Parameters:
    ///   - statuses: The tracker's hosts.
    ///   - samples: The latest sample of each host that sent one.
    init(statuses: [AgentStatus], samples: [String: LatestSample]) {
        var hosts: [Host] = []
        hosts.reserveCapacity(max(statuses.count, samples.count))
        var seen = Set<String>(minimumCapacity: statuses.count)
        for status in statuses {
            seen.insert(status.hostname)
            hosts.append(Self.host(status.hostname, status: status, sample: samples[status.hostname]))
        }
        for (hostname, sample) in samples where !seen.contains(hostname) {
            hosts.append(Self.host(hostname, status: nil, sample: sample))
        }
        self.hosts = hosts
    }

    private static func host(_ hostname: String, status: AgentStatus?, sample: LatestSample?) -> Host {
        var host = Host(labels: ExpositionWriter.renderLabel("host", hostname), status: status, document: sample?.document)
        guard let document = sample?.document else { return host }
        host.filesystems = document.disk?.partitions.map { partition in
            (
                labels: "," + ExpositionWriter.renderLabel("mountpoint", partition.mountpoint) + "," + ExpositionWriter.renderLabel("device", partition.device)
                    + "," + ExpositionWriter.renderLabel("fstype", partition.fstype),
                partition: partition
            )
        } ?? []
        host.interfaces = document.io?.network?.interfaces.sorted { $0.key < $1.key }.map { (labels: "," + ExpositionWriter.renderLabel("interface", $0.key), counters: $0.value) } ?? []
        host.disks = document.io?.diskIO?.devices.sorted { $0.key < $1.key }.map { (labels: "," + ExpositionWriter.renderLabel("device", $0.key), counters: $0.value) } ?? []
        return host
    }

    /// The exposition text.
    ///
    /// - Parameter capacity: The buffer's initial size; pass the previous render's size so a
    ///   large fleet's text is written without the buffer growing on the way.
    func render(allocator: ByteBufferAllocator = ByteBufferAllocator(), capacity: Int = 0) -> ByteBuffer {
        var out = ExpositionWriter(buffer: allocator.buffer(capacity: max(capacity, 4096, self.hosts.count * 512)))
        self.renderLiveness(&out)
        self.renderCPUAndMemory(&out)
        self.renderFilesystems(&out)
        self.renderNetwork(&out)
        self.renderDisks(&out)
        return out.buffer
    }

    private func renderLiveness(_ out: inout ExpositionWriter) {
        out.family("vigil_host_up", "gauge", "1 while the host is alive (CONNECTED, HEALTHY, SUSPECT or RECOVERED), 0 when DOWN or STOPPED.")
        for host in self.hosts {
            guard let status = host.status else { continue }
            out.sample("vigil_host_up", host.labels, status.state == .down || status.state == .stopped ? 0 : 1)
        }
        out.family("vigil_host_state", "gauge", "The host's liveness state: 1 for the current one, 0 for the others.")
        for host in self.hosts {
            guard let status = host.status else { continue }
            for state in LivenessState.allCases {
                out.sample("vigil_host_state", host.labels, Self.stateLabels[state]!, status.state == state ? 1 : 0)
            }
        }
        out.family("vigil_host_connected", "gauge", "1 while the host's agent has a registered connection open.")
        for host in self.hosts {
            guard let status = host.status else { continue }
            out.sample("vigil_host_connected", host.labels, status.connected ? 1 : 0)
        }
        out.family("vigil_host_last_seen_timestamp_seconds", "gauge", "When the server last heard from the host (a heartbeat or a registration), Unix seconds.")
        for host in self.hosts {
            guard let seen = host.status?.lastSeen else { continue }
            out.sample("vigil_host_last_seen_timestamp_seconds", host.labels, seen.timeIntervalSince1970)
        }
        out.family("vigil_host_last_sample_timestamp_seconds", "gauge", "When the host took its latest metrics sample (its own clock), Unix seconds.")
        for host in self.hosts {
            guard let document = host.document else { continue }
            out.sample("vigil_host_last_sample_timestamp_seconds", host.labels, document.timestamp.timeIntervalSince1970)
        }
    }

    private func renderCPUAndMemory(_ out: inout ExpositionWriter) {
        self.gauge(&out, "vigil_cpu_percent", "Busy share of all the host's CPUs over the latest sample interval, 0-100.") { $0.cpu?.cpuPercentTotal }
        self.gauge(&out, "vigil_cpus_logical", "Logical CPUs of the host.") { $0.cpu.map { Double($0.cpuCountLogical) } }
        self.gauge(&out, "vigil_load1", "Load average over 1 minute.") { $0.cpu?.loadAverage.flatMap { $0.count > 0 ? $0[0] : nil } }
        self.gauge(&out, "vigil_load5", "Load average over 5 minutes.") { $0.cpu?.loadAverage.flatMap { $0.count > 1 ? $0[1] : nil } }
        self.gauge(&out, "vigil_load15", "Load average over 15 minutes.") { $0.cpu?.loadAverage.flatMap { $0.count > 2 ? $0[2] : nil } }
        self.gauge(&out, "vigil_memory_percent", "Memory in use, percent of the total.") { $0.memory?.memoryPercent }
        self.gauge(&out, "vigil_memory_used_bytes", "Memory in use (total - free - buffers - cache - reclaimable slab), bytes.") { $0.memory.map { Double($0.memoryUsed) } }
        self.gauge(&out, "vigil_memory_available_bytes", "Memory available for new work without swapping, bytes.") { $0.memory.map { Double($0.memoryAvailable) } }
        self.gauge(&out, "vigil_memory_total_bytes", "Physical memory, bytes.") { $0.memory.map { Double($0.memoryTotal) } }
        self.gauge(&out, "vigil_swap_percent", "Swap in use, percent of the total.") { $0.memory?.swapPercent }
        self.gauge(&out, "vigil_swap_used_bytes", "Swap in use, bytes.") { $0.memory.map { Double($0.swapUsed) } }
        self.gauge(&out, "vigil_swap_total_bytes", "Swap space, bytes.") { $0.memory.map { Double($0.swapTotal) } }
        self.gauge(&out, "vigil_uptime_seconds", "Seconds since the host booted.") { $0.system?.uptime }
        self.gauge(&out, "vigil_boot_time_seconds", "When the host booted, Unix seconds.") { $0.system?.bootTime }
        self.gauge(&out, "vigil_processes", "Processes on the host.") { $0.processes.map { Double($0.total) } }
    }

    private func renderFilesystems(_ out: inout ExpositionWriter) {
        self.filesystem(&out, "vigil_filesystem_size_bytes", "File system size, bytes.") { Double($0.total) }
        self.filesystem(&out, "vigil_filesystem_used_bytes", "File system space in use (size - free), bytes.") { Double($0.used) }
        self.filesystem(&out, "vigil_filesystem_free_bytes", "File system space an unprivileged user may still use, bytes.") { Double($0.free) }
        self.filesystem(&out, "vigil_filesystem_percent", "File system space in use, percent (used / (used + free), as df shows it).") { $0.percent }
    }

    private func renderNetwork(_ out: inout ExpositionWriter) {
        self.interface(&out, "vigil_network_receive_bytes_per_second", "gauge", "Bytes received per second over the latest sample interval.") { $0.bytesRecvPerSecond }
        self.interface(&out, "vigil_network_transmit_bytes_per_second", "gauge", "Bytes sent per second over the latest sample interval.") { $0.bytesSentPerSecond }
        self.interface(&out, "vigil_network_receive_packets_per_second", "gauge", "Packets received per second over the latest sample interval.") { $0.packetsRecvPerSecond }
        self.interface(&out, "vigil_network_transmit_packets_per_second", "gauge", "Packets sent per second over the latest sample interval.") { $0.packetsSentPerSecond }
        self.interface(&out, "vigil_network_receive_bytes_total", "counter", "Bytes received since boot.") { Double($0.bytesRecv) }
        self.interface(&out, "vigil_network_transmit_bytes_total", "counter", "Bytes sent since boot.") { Double($0.bytesSent) }
        self.interface(&out, "vigil_network_receive_packets_total", "counter", "Packets received since boot.") { Double($0.packetsRecv) }
        self.interface(&out, "vigil_network_transmit_packets_total", "counter", "Packets sent since boot.") { Double($0.packetsSent) }
        self.interface(&out, "vigil_network_receive_errors_total", "counter", "Receive errors since boot.") { Double($0.errin) }
        self.interface(&out, "vigil_network_transmit_errors_total", "counter", "Transmit errors since boot.") { Double($0.errout) }
        self.interface(&out, "vigil_network_receive_drop_total", "counter", "Received packets dropped since boot.") { Double($0.dropin) }
        self.interface(&out, "vigil_network_transmit_drop_total", "counter", "Outgoing packets dropped since boot.") { Double($0.dropout) }
    }

    private func renderDisks(_ out: inout ExpositionWriter) {
        self.disk(&out, "vigil_disk_read_bytes_per_second", "gauge", "Bytes read per second over the latest sample interval.") { $0.readBytesPerSecond }
        self.disk(&out, "vigil_disk_written_bytes_per_second", "gauge", "Bytes written per second over the latest sample interval.") { $0.writeBytesPerSecond }
        self.disk(&out, "vigil_disk_reads_per_second", "gauge", "Reads completed per second over the latest sample interval.") { $0.readCountPerSecond }
        self.disk(&out, "vigil_disk_writes_per_second", "gauge", "Writes completed per second over the latest sample interval.") { $0.writeCountPerSecond }
        self.disk(&out, "vigil_disk_read_bytes_total", "counter", "Bytes read since boot.") { Double($0.readBytes) }
        self.disk(&out, "vigil_disk_written_bytes_total", "counter", "Bytes written since boot.") { Double($0.writeBytes) }
        self.disk(&out, "vigil_disk_reads_completed_total", "counter", "Reads completed since boot.") { Double($0.readCount) }
        self.disk(&out, "vigil_disk_writes_completed_total", "counter", "Writes completed since boot.") { Double($0.writeCount) }
        self.disk(&out, "vigil_disk_read_time_seconds_total", "counter", "Seconds spent reading since boot (from /proc/diskstats).") { Double($0.readTime) / 1000 }
        self.disk(&out, "vigil_disk_write_time_seconds_total", "counter", "Seconds spent writing since boot (from /proc/diskstats).") { Double($0.writeTime) / 1000 }
    }

    // MARK: Family walks

    /// One value per host, from its latest sample; hosts without it are skipped.
    private func gauge(_ out: inout ExpositionWriter, _ name: StaticString, _ help: StaticString, _ value: (MetricsDocument) -> Double?) {
        out.family(name, "gauge", help)
        for host in self.hosts {
            guard let document = host.document, let value = value(document) else { continue }
            out.sample(name, host.labels, value)
        }
    }

    private func filesystem(_ out: inout ExpositionWriter, _ name: StaticString, _ help: StaticString, _ value: (MetricsDocument.Disk.Partition) -> Double) {
        out.family(name, "gauge", help)
        for host in self.hosts {
            for filesystem in host.filesystems {
                out.sample(name, host.labels, filesystem.labels, value(filesystem.partition))
            }
        }
    }

    private func interface(_ out: inout ExpositionWriter, _ name: StaticString, _ type: StaticString, _ help: StaticString, _ value: (MetricsDocument.NetworkCounters) -> Double?) {
        out.family(name, type, help)
        for host in self.hosts {
            for interface in host.interfaces {
                guard let value = value(interface.counters) else { continue }
                out.sample(name, host.labels, interface.labels, value)
            }
        }
    }

    private func disk(_ out: inout ExpositionWriter, _ name: StaticString, _ type: StaticString, _ help: StaticString, _ value: (MetricsDocument.DiskCounters) -> Double?) {
        out.family(name, type, help)
        for host in self.hosts {
            for disk in host.disks {
                guard let value = value(disk.counters) else { continue }
                out.sample(name, host.labels, disk.labels, value)
            }
        }
    }

    /// `,state="HEALTHY"` and so on, rendered once.
    private static let stateLabels: [LivenessState: String] = Dictionary(uniqueKeysWithValues: LivenessState.allCases.map { ($0, "," + ExpositionWriter.renderLabel("state", $0.rawValue)) })
}
