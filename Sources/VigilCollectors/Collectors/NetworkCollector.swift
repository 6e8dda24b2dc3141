#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import VigilMetrics

/// Network interface traffic from `proc/net/dev`: raw counters since the interface came up and,
/// from the second sample on, rates per second.
///
/// Every interface except loopback (`lo`) is reported and summed into the total: loopback traffic
/// never leaves the host, so it is not the host's network I/O (and would double every local
/// connection's bytes). Other virtual interfaces (bridges, veth, tun, ifb) are kept, as psutil and
/// node_exporter keep them by default; traffic forwarded through a bridge is then counted on both
/// the bridge and the physical port.
public struct NetworkCollector: Collector {
    public let name = "network"
    /// Where the files are read; tests switch it between samples.
    public var root: SystemRoot
    /// The previous sample's raw counters by interface, for rates.
    private var previous: [String: Raw]?

    public init(root: SystemRoot = SystemRoot()) {
        self.root = root
    }

    public mutating func collect(into document: inout MetricsDocument, elapsed: Double?) throws {
        let text = try self.root.read("proc/net/dev")
        var current: [String: Raw] = [:]
        // The two header lines have no colon before their `|`-separated titles; interface lines do.
        for line in text.split(separator: "\n") {
            guard let (name, raw) = Self.parse(line), name != "lo" else { continue }
            current[name] = raw
        }

        let previous = self.previous
        self.previous = current
        // Rates need an interval and an earlier sample; otherwise only the raw counters go out.
        let interval = elapsed.flatMap { $0.isFinite && $0 > 0 ? $0 : nil }
        let before = interval == nil ? nil : previous

        var interfaces: [String: MetricsDocument.NetworkCounters] = [:]
        var deltas: [String: Delta] = [:]
        for (name, raw) in current {
            var counters = raw.counters
            // An interface that appeared since the last sample has no rate yet.
            if let interval, let old = before?[name] {
                let delta = Delta(old: old, new: raw)
                delta.apply(to: &counters, over: interval)
                deltas[name] = delta
            }
            interfaces[name] = counters
        }

        var total = current.values.reduce(Raw.zero, +).counters
        // The total's rate is the sum of its interfaces' changes, and only when the same interfaces
        // are there as before: one that came or went would make the sum jump.
        if let interval, let before, Set(before.keys) == Set(current.keys) {
            Delta.sum(current.keys.map { deltas[$0] ?? Delta() }).apply(to: &total, over: interval)
        }

        document.io = document.io ?? .init()
        document.io?.network = MetricsDocument.Network(total: total, interfaces: interfaces)
    }

    /// One interface line: `name: rx_bytes rx_packets rx_errs rx_drop rx_fifo rx_frame
    /// rx_compressed rx_multicast tx_bytes tx_packets tx_errs tx_drop tx_fifo tx_colls
    /// tx_carrier tx_compressed`. Old kernels print no space after the colon once rx_bytes is wide,
    /// so the name ends at the colon, not at a space.
    static func parse(_ line: Substring) -> (String, Raw)? {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let name = line[..<colon].trimmingSpaces
        guard !name.isEmpty, !name.contains("|") else { return nil }
        let fields = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 12 else { return nil }
        let numbers = fields.prefix(12).compactMap { UInt64($0) }
        guard numbers.count == 12 else { return nil }
        return (name, Raw(
            bytesRecv: numbers[0], packetsRecv: numbers[1], errin: numbers[2], dropin: numbers[3],
            bytesSent: numbers[8], packetsSent: numbers[9], errout: numbers[10], dropout: numbers[11]
        ))
    }

    struct Raw: Sendable, Equatable {
        var bytesRecv: UInt64
        var packetsRecv: UInt64
        var errin: UInt64
        var dropin: UInt64
        var bytesSent: UInt64
        var packetsSent: UInt64
        var errout: UInt64
        var dropout: UInt64

        static let zero = Raw(bytesRecv: 0, packetsRecv: 0, errin: 0, dropin: 0, bytesSent: 0, packetsSent: 0, errout: 0, dropout: 0)

        /// Summing wraps rather than traps: a total past 2^64 is no reason to crash the agent.
        static func + (lhs: Raw, rhs: Raw) -> Raw {
            Raw(
                bytesRecv: lhs.bytesRecv &+ rhs.bytesRecv, packetsRecv: lhs.packetsRecv &+ rhs.packetsRecv,
                errin: lhs.errin &+ rhs.errin, dropin: lhs.dropin &+ rhs.dropin,
                bytesSent: lhs.bytesSent &+ rhs.bytesSent, packetsSent: lhs.packetsSent &+ rhs.packetsSent,
                errout: lhs.errout &+ rhs.errout, dropout: lhs.dropout &+ rhs.dropout
            )
        }

        var counters: MetricsDocument.NetworkCounters {
            MetricsDocument.NetworkCounters(
                bytesSent: self.bytesSent, bytesRecv: self.bytesRecv,
                packetsSent: self.packetsSent, packetsRecv: self.packetsRecv,
                errin: self.errin, errout: self.errout, dropin: self.dropin, dropout: self.dropout
            )
        }
    }

    /// Increases between two samples, per counter; `nil` where the counter went backwards
    /// (interface re-created, a driver's 32-bit counter wrapped) or is unknown.
    struct Delta {
        var bytesSent: UInt64?
        var bytesRecv: UInt64?
        var packetsSent: UInt64?
        var packetsRecv: UInt64?

        init(bytesSent: UInt64? = nil, bytesRecv: UInt64? = nil, packetsSent: UInt64? = nil, packetsRecv: UInt64? = nil) {
            self.bytesSent = bytesSent
            self.bytesRecv = bytesRecv
            self.packetsSent = packetsSent
            self.packetsRecv = packetsRecv
        }

        init(old: Raw, new: Raw) {
            self.bytesSent = increase(old.bytesSent, new.bytesSent)
            self.bytesRecv = increase(old.bytesRecv, new.bytesRecv)
            self.packetsSent = increase(old.packetsSent, new.packetsSent)
            self.packetsRecv = increase(old.packetsRecv, new.packetsRecv)
        }

        /// The sum per counter, `nil` for a counter any part lacks.
        static func sum(_ parts: [Delta]) -> Delta {
            parts.reduce(Delta(bytesSent: 0, bytesRecv: 0, packetsSent: 0, packetsRecv: 0)) { sum, part in
                Delta(
                    bytesSent: add(sum.bytesSent, part.bytesSent), bytesRecv: add(sum.bytesRecv, part.bytesRecv),
                    packetsSent: add(sum.packetsSent, part.packetsSent), packetsRecv: add(sum.packetsRecv, part.packetsRecv)
                )
            }
        }

        func apply(to counters: inout MetricsDocument.NetworkCounters, over seconds: Double) {
            counters.bytesSentPerSecond = self.bytesSent.map { Double($0) / seconds }
            counters.bytesRecvPerSecond = self.bytesRecv.map { Double($0) / seconds }
            counters.packetsSentPerSecond = self.packetsSent.map { Double($0) / seconds }
            counters.packetsRecvPerSecond = self.packetsRecv.map { Double($0) / seconds }
        }
    }
}

/// `new − old`, or `nil` when the counter went backwards.
private func increase(_ old: UInt64, _ new: UInt64) -> UInt64? {
    new >= old ? new - old : nil
}

/// Both, summed (wrapping), or `nil` if either is missing.
private func add(_ lhs: UInt64?, _ rhs: UInt64?) -> UInt64? {
    guard let lhs, let rhs else { return nil }
    return lhs &+ rhs
}
