import Foundation
import NIOCore
import VigilAPI
import VigilMetrics

/// `GET /metrics/fleet`: every host's liveness and latest values as Prometheus text exposition
/// (version 0.0.4), from the in-memory caches (``LivenessTracker``, ``LatestMetrics``): a scrape
/// never reads the database.
///
/// The format wants each family's samples together, so the hosts are walked once per family. To
/// keep that walk cheap (at 10,000 hosts it writes ~800,000 lines), each host is read once, up
/// front, into flat tables: every label text rendered and escaped once into one byte arena, every
/// value into an array of `Double`s (NaN where the host has none: values agents send are checked
/// finite on ingest). The walk then only copies bytes and formats numbers, with no reference
/// counting (profiled: copying each host's document per family was most of the time before).
/// Families no host has a value for are left out.
///
/// Hosts the tracker knows have `vigil_host_up` and `vigil_host_state`; hosts that only post
/// metrics over HTTP (no agent connection, so no liveness) have their values only. A host with no
/// sample yet has its liveness only.
public struct FleetExposition: Sendable {
    /// Label text of every host, file system, interface and disk, and of the states, back to back.
    private var arena: [UInt8] = []
    private var hostLabels: [Range<Int>] = []
    private var stateLabels: [Range<Int>] = []
    /// Per host: its state's index in `LivenessState.allCases`, or -1 without liveness.
    private var states: [Int8] = []
    /// Per host and scalar family (`hostIndex * scalarFamilies.count + family`).
    private var scalars: [Double] = []
    private var filesystems = Instances()
    private var interfaces = Instances()
    private var disks = Instances()

    /// Label sets below a host (a file system, an interface, a disk) and their values per family.
    struct Instances: Sendable {
        var host: [Int32] = []
        var labels: [Range<Int>] = []
        var values: [Double] = []
    }

    public var hostCount: Int { self.hostLabels.count }

    /// - Parameters:
    ///   - statuses: The tracker's hosts.
    ///   - samples: The latest sample of each host that sent one.
    public init(statuses: [AgentStatus], samples: [String: LatestSample]) {
        let count = max(statuses.count, samples.count)
        self.arena.reserveCapacity(count * 200)
        self.hostLabels.reserveCapacity(count)
        self.states.reserveCapacity(count)
        self.scalars.reserveCapacity(count * Self.scalarFamilies.count)
        for state in LivenessState.allCases {
            let start = self.arena.count
            self.arena.append(UInt8(ascii: ","))
            ExpositionWriter.appendLabel("state", state.rawValue, to: &self.arena)
            self.stateLabels.append(start..<self.arena.count)
        }
        var seen = Set<String>(minimumCapacity: statuses.count)
        for status in statuses {
            seen.insert(status.hostname)
            self.add(status.hostname, status: status, document: samples[status.hostname]?.document)
        }
        for (hostname, sample) in samples where !seen.contains(hostname) {
            self.add(hostname, status: nil, document: sample.document)
        }
    }

    private mutating func add(_ hostname: String, status: AgentStatus?, document: MetricsDocument?) {
        let host = Int32(self.hostLabels.count)
        let start = self.arena.count
        ExpositionWriter.appendLabel("host", hostname, to: &self.arena)
        self.hostLabels.append(start..<self.arena.count)
        self.states.append(status.flatMap { status in LivenessState.allCases.firstIndex(of: status.state).map { Int8($0) } } ?? -1)
        for family in Self.scalarFamilies {
            self.scalars.append(family.value(status, document) ?? .nan)
        }
        guard let document else { return }
        // Interfaces and disks in the dictionary's order: the format does not ask for any, and
        // sorting them per host per scrape cost more than the rest of their reading.
        if let partitions = document.disk?.partitions {
            for partition in partitions {
                let start = self.label(",", "mountpoint", partition.mountpoint)
                _ = self.label(",", "device", partition.device)
                _ = self.label(",", "fstype", partition.fstype)
                self.filesystems.host.append(host)
                self.filesystems.labels.append(start..<self.arena.count)
                for family in Self.filesystemFamilies { self.filesystems.values.append(family.value(partition) ?? .nan) }
            }
        }
        if let interfaces = document.io?.network?.interfaces {
            for (name, counters) in interfaces {
                self.interfaces.host.append(host)
                self.interfaces.labels.append(self.label(",", "interface", name)..<self.arena.count)
                for family in Self.interfaceFamilies { self.interfaces.values.append(family.value(counters) ?? .nan) }
            }
        }
        if let devices = document.io?.diskIO?.devices {
            for (name, counters) in devices {
                self.disks.host.append(host)
                self.disks.labels.append(self.label(",", "device", name)..<self.arena.count)
                for family in Self.diskFamilies { self.disks.values.append(family.value(counters) ?? .nan) }
            }
        }
    }

    /// Appends `,name="value"` to the arena; returns where it starts.
    private mutating func label(_ separator: Unicode.Scalar, _ name: StaticString, _ value: String) -> Int {
        let start = self.arena.count
        self.arena.append(UInt8(ascii: separator))
        ExpositionWriter.appendLabel(name, value, to: &self.arena)
        return start
    }

    /// The exposition text, in a buffer of its own.
    public func render() -> ByteBuffer {
        var buffer = ByteBuffer()
        self.render(into: &buffer)
        return buffer
    }

    /// Writes the exposition text into `buffer`, replacing what it held.
    ///
    /// - Parameter buffer: Where to write it (cleared first): the previous render's buffer, so a
    ///   large fleet's text goes into memory already sized and mapped (a fresh 60 MB buffer per
    ///   scrape cost a page fault per 4 KiB).
    public func render(into buffer: inout ByteBuffer) {
        // The writer must hold the only reference, or its first write copies the whole buffer
        // into fresh memory (and every page of it faults in again).
        var taken = ByteBuffer()
        swap(&taken, &buffer)
        taken.clear()
        taken.reserveCapacity(max(4096, self.hostCount * 512))
        var out = ExpositionWriter(buffer: consume taken)
        self.arena.withUnsafeBytes { arena in
            let none = UnsafeRawBufferPointer(rebasing: arena[0..<0])
            let scalarCount = Self.scalarFamilies.count
            for (index, family) in Self.scalarFamilies.enumerated() {
                out.family(family.name, "gauge", family.help)
                for host in 0..<self.hostCount {
                    let value = self.scalars[host * scalarCount + index]
                    guard !value.isNaN else { continue }
                    out.sample(family.name, UnsafeRawBufferPointer(rebasing: arena[self.hostLabels[host]]), none, value)
                }
                // The state set comes right after `vigil_host_up`.
                guard index == 0 else { continue }
                out.family("vigil_host_state", "gauge", "The host's liveness state: 1 for the current one, 0 for the others.")
                for host in 0..<self.hostCount where self.states[host] >= 0 {
                    let labels = UnsafeRawBufferPointer(rebasing: arena[self.hostLabels[host]])
                    for state in 0..<self.stateLabels.count {
                        out.sample("vigil_host_state", labels, UnsafeRawBufferPointer(rebasing: arena[self.stateLabels[state]]), Int(self.states[host]) == state ? 1 : 0)
                    }
                }
            }
            Self.render(&out, arena, self.hostLabels, self.filesystems, Self.filesystemFamilies.map { ($0.name, $0.type, $0.help) })
            Self.render(&out, arena, self.hostLabels, self.interfaces, Self.interfaceFamilies.map { ($0.name, $0.type, $0.help) })
            Self.render(&out, arena, self.hostLabels, self.disks, Self.diskFamilies.map { ($0.name, $0.type, $0.help) })
        }
        buffer = out.buffer
    }

    private static func render(
        _ out: inout ExpositionWriter, _ arena: UnsafeRawBufferPointer, _ hostLabels: [Range<Int>], _ instances: Instances,
        _ families: [(name: StaticString, type: StaticString, help: StaticString)]
    ) {
        for (index, family) in families.enumerated() {
            out.family(family.name, family.type, family.help)
            for instance in 0..<instances.host.count {
                let value = instances.values[instance * families.count + index]
                guard !value.isNaN else { continue }
                out.sample(
                    family.name, UnsafeRawBufferPointer(rebasing: arena[hostLabels[Int(instances.host[instance])]]),
                    UnsafeRawBufferPointer(rebasing: arena[instances.labels[instance]]), value
                )
            }
        }
    }
}
