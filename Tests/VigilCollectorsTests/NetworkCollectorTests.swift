import Foundation
import Testing
import VigilMetrics
@testable import VigilCollectors

/// Fixtures: `network-a` starts from a real /proc/net/dev (lo, ifb0, eth0) and adds eth1 in the
/// old format with no space after the colon. `network-b` is ten seconds later; `network-reset` and
/// `network-wrap` replace it with counters that went backwards.
@Suite("Network collector")
struct NetworkCollectorTests {
    typealias Counters = MetricsDocument.NetworkCounters

    /// Counters in /proc/net/dev's order: received bytes, packets, errors, drops, then sent.
    static func counters(
        recv bytesRecv: UInt64, _ packetsRecv: UInt64, _ errin: UInt64, _ dropin: UInt64,
        sent bytesSent: UInt64, _ packetsSent: UInt64, _ errout: UInt64, _ dropout: UInt64,
        perSecond rates: (bytesRecv: Double?, packetsRecv: Double?, bytesSent: Double?, packetsSent: Double?)? = nil
    ) -> Counters {
        var counters = Counters(bytesSent: bytesSent, bytesRecv: bytesRecv, packetsSent: packetsSent, packetsRecv: packetsRecv,
                                errin: errin, errout: errout, dropin: dropin, dropout: dropout)
        counters.bytesRecvPerSecond = rates?.bytesRecv
        counters.packetsRecvPerSecond = rates?.packetsRecv
        counters.bytesSentPerSecond = rates?.bytesSent
        counters.packetsSentPerSecond = rates?.packetsSent
        return counters
    }

    static func collect(_ collector: inout NetworkCollector, _ scenario: String, elapsed: Double?) throws -> MetricsDocument.Network {
        collector.root = Fixtures.root(scenario)
        var document = MetricsDocument(timestamp: Date())
        try collector.collect(into: &document, elapsed: elapsed)
        return try #require(document.io?.network)
    }

    @Test("every interface but lo, totals over them; no rates on the first sample")
    func firstSample() throws {
        var collector = NetworkCollector()
        #expect(collector.name == "network")
        let network = try Self.collect(&collector, "network-a", elapsed: 10)
        #expect(network.interfaces == [
            "eth0": Self.counters(recv: 9_676_026, 228, 3, 1, sent: 14_229, 161, 2, 4),
            "eth1": Self.counters(recv: 12_345_678_901, 9_876_543, 7, 5, sent: 2_345_678_901, 3_456_789, 6, 8),
            "ifb0": Self.counters(recv: 0, 0, 0, 0, sent: 0, 0, 0, 0),
        ])
        #expect(network.total == Self.counters(recv: 12_355_354_927, 9_876_771, 10, 6, sent: 2_345_693_130, 3_456_950, 8, 12))
    }

    @Test("rates are the change over the interval, per interface and for the total")
    func secondSample() throws {
        var collector = NetworkCollector()
        _ = try Self.collect(&collector, "network-a", elapsed: nil)
        let network = try Self.collect(&collector, "network-b", elapsed: 10)
        #expect(network.interfaces == [
            // +102400 and +50 received, +20480 and +30 sent, in 10 s.
            "eth0": Self.counters(recv: 9_778_426, 278, 3, 1, sent: 34_709, 191, 2, 4, perSecond: (10_240, 5, 2_048, 3)),
            "eth1": Self.counters(recv: 12_346_678_901, 9_877_543, 7, 6, sent: 2_346_178_901, 3_457_389, 6, 8,
                                  perSecond: (100_000, 100, 50_000, 60)),
            "ifb0": Self.counters(recv: 0, 0, 0, 0, sent: 0, 0, 0, 0, perSecond: (0, 0, 0, 0)),
        ])
        // lo moved by 100000 bytes too, and is not in the total.
        #expect(network.total == Self.counters(recv: 12_356_457_327, 9_877_821, 10, 7, sent: 2_346_213_610, 3_457_580, 8, 12,
                                               perSecond: (110_240, 105, 52_048, 63)))
    }

    @Test("no rates without a usable interval", arguments: [nil, 0, -2.5] as [Double?])
    func noInterval(elapsed: Double?) throws {
        var collector = NetworkCollector()
        _ = try Self.collect(&collector, "network-a", elapsed: nil)
        let network = try Self.collect(&collector, "network-b", elapsed: elapsed)
        #expect(network.interfaces["eth0"] == Self.counters(recv: 9_778_426, 278, 3, 1, sent: 34_709, 191, 2, 4))
        #expect(network.total == Self.counters(recv: 12_356_457_327, 9_877_821, 10, 7, sent: 2_346_213_610, 3_457_580, 8, 12))
    }

    @Test("a counter that went backwards, and an interface that came or went, give no rate")
    func reset() throws {
        var collector = NetworkCollector()
        _ = try Self.collect(&collector, "network-a", elapsed: nil)
        let network = try Self.collect(&collector, "network-reset", elapsed: 10)
        #expect(network.interfaces == [
            // Received counters went backwards; sent went on (+10000 bytes, +10 packets).
            "eth0": Self.counters(recv: 5_000, 100, 0, 0, sent: 24_229, 171, 0, 0, perSecond: (nil, nil, 1_000, 1)),
            "ifb0": Self.counters(recv: 0, 0, 0, 0, sent: 0, 0, 0, 0, perSecond: (0, 0, 0, 0)),
            // New since the last sample.
            "docker0": Self.counters(recv: 2_000, 20, 0, 0, sent: 3_000, 30, 0, 0),
        ])
        // eth1 went and docker0 came: the total's change would mean nothing.
        #expect(network.total == Self.counters(recv: 7_000, 120, 0, 0, sent: 27_229, 201, 0, 0))
    }

    @Test("the total has no rate for a counter that wrapped on one interface")
    func wrap() throws {
        var collector = NetworkCollector()
        _ = try Self.collect(&collector, "network-a", elapsed: nil)
        let network = try Self.collect(&collector, "network-wrap", elapsed: 10)
        #expect(network.interfaces["eth1"] == Self.counters(recv: 4_000, 9_877_543, 7, 6, sent: 2_346_178_901, 3_457_389, 6, 8,
                                                            perSecond: (nil, 100, 50_000, 60)))
        #expect(network.total == Self.counters(recv: 9_782_426, 9_877_821, 10, 7, sent: 2_346_213_610, 3_457_580, 8, 12,
                                               perSecond: (nil, 105, 52_048, 63)))
    }

    @Test("fills io.network and leaves io.disk_io as it was")
    func merge() throws {
        var collector = NetworkCollector(root: Fixtures.root("network-a"))
        var document = MetricsDocument(timestamp: Date())
        let diskIO = MetricsDocument.DiskIO(
            total: .init(readCount: 1, writeCount: 2, readBytes: 3, writeBytes: 4, readTime: 5, writeTime: 6),
            devices: [:]
        )
        document.io = MetricsDocument.IO(diskIO: diskIO)
        try collector.collect(into: &document, elapsed: nil)
        #expect(document.io?.diskIO == diskIO)
        #expect(document.io?.network?.interfaces.keys.sorted() == ["eth0", "eth1", "ifb0"])
    }

    @Test("a missing net/dev throws and leaves the section out")
    func missing() {
        var collector = NetworkCollector(root: Fixtures.root("diskio-a"))
        var document = MetricsDocument(timestamp: Date())
        #expect(throws: CollectorError.self) { try collector.collect(into: &document, elapsed: nil) }
        #expect(document.io == nil)
    }

    @Test("line parsing: headers and short lines are skipped, the name ends at the colon")
    func parse() {
        #expect(NetworkCollector.parse("Inter-|   Receive                                                |  Transmit") == nil)
        #expect(NetworkCollector.parse(" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed") == nil)
        #expect(NetworkCollector.parse("  eth0:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16")?.1 ==
            NetworkCollector.Raw(bytesRecv: 1, packetsRecv: 2, errin: 3, dropin: 4, bytesSent: 9, packetsSent: 10, errout: 11, dropout: 12))
        #expect(NetworkCollector.parse("  eth0:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16")?.0 == "eth0")
        #expect(NetworkCollector.parse("  eth0: 1 2 3 4 5 6 7 8 9 10 11") == nil)
        #expect(NetworkCollector.parse("  eth0: 1 2 3 4 5 6 7 8 9 10 11 x 13 14 15 16") == nil)
        #expect(NetworkCollector.parse("") == nil)
    }
}
