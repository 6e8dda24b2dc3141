import Foundation
import Testing
import VigilMetrics

/// The flattening of a document into series: the names history stores and `/history` accepts.
@Suite("Metrics document series")
struct MetricsSeriesTests {
    @Test("every number gets its dotted name; keyed members in brackets; unknown rates are left out")
    func names() {
        var document = MetricsDocument(timestamp: Date(timeIntervalSince1970: 0))
        document.cpu = .init(cpuPercentTotal: 12.5, cpuPercentPerCore: [10, 15], cpuCountLogical: 2, loadAverage: [0.5, 0.25, 0.125])
        document.disk = .init(partitions: [.init(device: "/dev/sdb1", mountpoint: "/var/lib", fstype: "ext4", total: 100, used: 40, free: 60, percent: 40)])
        var eth0 = MetricsDocument.NetworkCounters(bytesSent: 1, bytesRecv: 2, packetsSent: 3, packetsRecv: 4, errin: 5, errout: 6, dropin: 7, dropout: 8)
        eth0.bytesRecvPerSecond = 100
        eth0.bytesSentPerSecond = .infinity
        document.io = .init(network: .init(total: eth0, interfaces: ["eth0": eth0]))
        let series = document.series()
        let values = Dictionary(series.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(series.count == values.count, "names are unique")
        #expect(values["cpu.cpu_percent_total"] == 12.5)
        #expect(values["cpu.cpu_percent_per_core[1]"] == 15)
        #expect(values["cpu.load_average[2]"] == 0.125)
        #expect(values["cpu.cpu_count_physical"] == nil, "absent values are no series")
        #expect(values["disk.partitions[/var/lib].percent"] == 40)
        #expect(values["io.network.interfaces[eth0].dropout"] == 8)
        #expect(values["io.network.bytes_recv_per_sec"] == 100)
        #expect(values["io.network.bytes_sent_per_sec"] == nil, "a non-finite rate is left out")
        #expect(values["io.network.packets_sent_per_sec"] == nil, "an unknown rate is left out")
        #expect(series.count == 7 + 4 + 9 + 9, "cpu 7, one partition 4, network total and eth0 9 each (8 counters, 1 known rate)")
    }

    @Test("aliases map to canonical names; other names pass through")
    func aliases() {
        #expect(MetricsDocument.canonicalSeriesName("cpu.percent") == "cpu.cpu_percent_total")
        #expect(MetricsDocument.canonicalSeriesName("load.15") == "cpu.load_average[2]")
        #expect(MetricsDocument.canonicalSeriesName("disk.partitions[/].percent") == "disk.partitions[/].percent")
    }
}
