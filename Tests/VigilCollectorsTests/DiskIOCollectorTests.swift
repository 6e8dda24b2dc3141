import Foundation
import Testing
import VigilMetrics
@testable import VigilCollectors

/// Fixtures: `diskio-a` starts from a real /proc/diskstats (vda with 20 fields, loops, zram0) and
/// adds vdb with 18 fields (kernels 4.18–5.4), sdc with 14 (before 4.18), partitions vda1 and sdc1
/// (the latter in the 2.4-era 7-field format), sr0 with all-zero counters, and ram0 and loop2 with
/// traffic. `diskio-b` is ten seconds later; `diskio-reset` and `diskio-wrap` replace it with
/// counters that went backwards.
@Suite("Disk I/O collector")
struct DiskIOCollectorTests {
    typealias Counters = MetricsDocument.DiskCounters

    static func counters(
        _ readCount: UInt64, _ writeCount: UInt64, _ readBytes: UInt64, _ writeBytes: UInt64, _ readTime: UInt64, _ writeTime: UInt64,
        perSecond rates: (readCount: Double?, writeCount: Double?, readBytes: Double?, writeBytes: Double?)? = nil
    ) -> Counters {
        var counters = Counters(readCount: readCount, writeCount: writeCount, readBytes: readBytes, writeBytes: writeBytes, readTime: readTime, writeTime: writeTime)
        counters.readCountPerSecond = rates?.readCount
        counters.writeCountPerSecond = rates?.writeCount
        counters.readBytesPerSecond = rates?.readBytes
        counters.writeBytesPerSecond = rates?.writeBytes
        return counters
    }

    static func collect(_ collector: inout DiskIOCollector, _ scenario: String, elapsed: Double?) throws -> MetricsDocument.DiskIO {
        collector.root = Fixtures.root(scenario)
        var document = MetricsDocument(timestamp: Date())
        try collector.collect(into: &document, elapsed: elapsed)
        return try #require(document.io?.diskIO)
    }

    @Test("whole disks only, bytes = sectors × 512, totals over disks; no rates on the first sample")
    func firstSample() throws {
        var collector = DiskIOCollector(root: Fixtures.root("diskio-a"))
        #expect(collector.name == "diskio")
        let io = try Self.collect(&collector, "diskio-a", elapsed: 10)
        // vda: 20 fields; vdb: 18; sdc: 14; sr0: zeros but a real disk. Not vda1/sdc1 (partitions,
        // no sys/block entry) nor loop*, ram0, zram0 (in sys/block but excluded).
        #expect(io.devices == [
            "vda": Self.counters(677_799, 266_308, 49_309_818 * 512, 30_945_272 * 512, 1_055_433, 427_884),
            "vdb": Self.counters(1_000, 2_000, 80_000 * 512, 160_000 * 512, 500, 900),
            "sdc": Self.counters(50, 30, 400 * 512, 240 * 512, 20, 10),
            "sr0": Self.counters(0, 0, 0, 0, 0, 0),
        ])
        #expect(io.devices["vda"]?.readBytes == 25_246_626_816)
        #expect(io.total == Self.counters(678_849, 268_338, 25_287_791_616, 15_926_022_144, 1_055_953, 428_794))
    }

    @Test("rates are the change over the interval, per device and for the total")
    func secondSample() throws {
        var collector = DiskIOCollector()
        _ = try Self.collect(&collector, "diskio-a", elapsed: nil)
        let io = try Self.collect(&collector, "diskio-b", elapsed: 10)
        #expect(io.devices == [
            // +1000 reads, +500 writes, +20000 and +40000 sectors, in 10 s.
            "vda": Self.counters(678_799, 266_808, 25_256_866_816, 15_864_459_264, 1_056_433, 428_884,
                                 perSecond: (100, 50, 1_024_000, 2_048_000)),
            "vdb": Self.counters(1_100, 2_300, 41_984_000, 84_992_000, 600, 1_200,
                                 perSecond: (10, 30, 102_400, 307_200)),
            "sdc": Self.counters(60, 30, 245_760, 122_880, 25, 10, perSecond: (1, 0, 4_096, 0)),
            "sr0": Self.counters(0, 0, 0, 0, 0, 0, perSecond: (0, 0, 0, 0)),
        ])
        #expect(io.total == Self.counters(679_959, 269_138, 25_299_096_576, 15_949_574_144, 1_057_058, 430_094,
                                          perSecond: (111, 80, 1_130_496, 2_355_200)))
    }

    @Test("rates divide by the elapsed seconds given")
    func otherInterval() throws {
        var collector = DiskIOCollector()
        _ = try Self.collect(&collector, "diskio-a", elapsed: nil)
        let io = try Self.collect(&collector, "diskio-b", elapsed: 4)
        #expect(io.devices["vda"]?.readCountPerSecond == 250)
        #expect(io.devices["sdc"]?.readBytesPerSecond == 10_240)
        #expect(io.total.writeCountPerSecond == 200)
        #expect(io.total.readBytesPerSecond == 2_826_240)
    }

    @Test("no rates without a usable interval", arguments: [nil, 0, -1, Double.nan, Double.infinity] as [Double?])
    func noInterval(elapsed: Double?) throws {
        var collector = DiskIOCollector()
        _ = try Self.collect(&collector, "diskio-a", elapsed: nil)
        let io = try Self.collect(&collector, "diskio-b", elapsed: elapsed)
        #expect(io.devices["vda"] == Self.counters(678_799, 266_808, 25_256_866_816, 15_864_459_264, 1_056_433, 428_884))
        #expect(io.total == Self.counters(679_959, 269_138, 25_299_096_576, 15_949_574_144, 1_057_058, 430_094))
        // The sample still counts as the previous one for the next call.
        let next = try Self.collect(&collector, "diskio-b", elapsed: 5)
        #expect(next.total.readCountPerSecond == 0)
    }

    @Test("a counter that went backwards, and a device that came or went, give no rate")
    func reset() throws {
        var collector = DiskIOCollector()
        _ = try Self.collect(&collector, "diskio-a", elapsed: nil)
        let io = try Self.collect(&collector, "diskio-reset", elapsed: 10)
        #expect(io.devices == [
            // Every counter lower: reset, no rates at all.
            "vda": Self.counters(100, 50, 409_600, 204_800, 40, 20, perSecond: (nil, nil, nil, nil)),
            // Reads went on (+20, +160 sectors), writes went backwards.
            "sdc": Self.counters(70, 5, 286_720, 20_480, 30, 2, perSecond: (2, nil, 8_192, nil)),
            "sr0": Self.counters(0, 0, 0, 0, 0, 0, perSecond: (0, 0, 0, 0)),
            // New since the last sample.
            "vde": Self.counters(10, 20, 40_960, 81_920, 1, 2),
        ])
        // vdb went and vde came: the total's change would mean nothing.
        #expect(io.total == Self.counters(180, 75, 737_280, 307_200, 71, 24))
    }

    @Test("the total has no rate for a counter that went backwards on one disk")
    func wrap() throws {
        var collector = DiskIOCollector()
        _ = try Self.collect(&collector, "diskio-a", elapsed: nil)
        let io = try Self.collect(&collector, "diskio-wrap", elapsed: 10)
        #expect(io.devices["vdb"] == Self.counters(1_100, 1_500, 41_984_000, 61_440_000, 600, 1_200,
                                                   perSecond: (10, nil, 102_400, nil)))
        #expect(io.total == Self.counters(679_959, 268_338, 25_299_096_576, 15_926_022_144, 1_057_058, 430_094,
                                          perSecond: (111, nil, 1_130_496, nil)))
    }

    @Test("fills io.disk_io and leaves io.network as it was")
    func merge() throws {
        var collector = DiskIOCollector(root: Fixtures.root("diskio-a"))
        var document = MetricsDocument(timestamp: Date())
        let network = MetricsDocument.Network(
            total: .init(bytesSent: 1, bytesRecv: 2, packetsSent: 3, packetsRecv: 4, errin: 0, errout: 0, dropin: 0, dropout: 0),
            interfaces: [:]
        )
        document.io = MetricsDocument.IO(network: network)
        try collector.collect(into: &document, elapsed: nil)
        #expect(document.io?.network == network)
        #expect(document.io?.diskIO?.devices.count == 4)
    }

    @Test("a missing diskstats or sys/block throws and leaves the section out")
    func missing() throws {
        var collector = DiskIOCollector(root: Fixtures.root("no-such-scenario"))
        var document = MetricsDocument(timestamp: Date())
        #expect(throws: CollectorError.self) { try collector.collect(into: &document, elapsed: nil) }
        // network-a has proc/ but no sys/block.
        collector.root = Fixtures.root("network-a")
        #expect(throws: CollectorError.self) { try collector.collect(into: &document, elapsed: nil) }
        #expect(document.io == nil)
    }

    @Test("line parsing: 14, 18 and 20 fields; shorter lines are skipped")
    func parse() {
        let twenty = DiskIOCollector.parse(" 254       0 vda 677799 82827 49309818 1055433 266308 268751 30945272 427884 0 393696 1556398 194129 3 30916336 56270 49753 16810")
        #expect(twenty?.0 == "vda")
        #expect(twenty?.1.readBytes == 49_309_818 * 512)
        #expect(DiskIOCollector.parse("   8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15")?.1 ==
            DiskIOCollector.Raw(readCount: 1, writeCount: 5, readBytes: 3 * 512, writeBytes: 7 * 512, readTime: 4, writeTime: 8))
        #expect(DiskIOCollector.parse("   8 0 sda 1 2 3 4 5 6 7 8 9 10 11")?.1.writeTime == 8)
        #expect(DiskIOCollector.parse("   8 1 sda1 40 320 25 200") == nil)
        #expect(DiskIOCollector.parse("   8 0 sda 1 2 x 4 5 6 7 8 9 10 11") == nil)
        #expect(DiskIOCollector.parse("") == nil)
    }
}
