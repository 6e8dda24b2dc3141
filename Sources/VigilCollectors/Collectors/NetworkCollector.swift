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
    private var rates = RateTracker<Raw>()

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

        let (interfaces, total) = self.rates.update(current, elapsed: elapsed)
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
}

extension NetworkCollector.Raw: RatedCounters {
    /// The counters that get a rate.
    var rateCounters: [UInt64] {
        [self.bytesSent, self.bytesRecv, self.packetsSent, self.packetsRecv]
    }

    static func applyRates(_ delta: CounterDelta, to counters: inout MetricsDocument.NetworkCounters, over seconds: Double) {
        counters.bytesSentPerSecond = delta.perSecond(0, over: seconds)
        counters.bytesRecvPerSecond = delta.perSecond(1, over: seconds)
        counters.packetsSentPerSecond = delta.perSecond(2, over: seconds)
        counters.packetsRecvPerSecond = delta.perSecond(3, over: seconds)
    }
}
