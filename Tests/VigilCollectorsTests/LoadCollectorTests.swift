import Foundation
import Testing
import VigilMetrics
@testable import VigilCollectors

@Suite("Load collector")
struct LoadCollectorTests {
    @Test("loadavg goes into an existing cpu section, leaving its other fields alone")
    func existingSection() throws {
        var collector = LoadCollector(root: Fixtures.root("load"))
        var document = MetricsDocument(timestamp: Date())
        let before = MetricsDocument.CPU(cpuPercentTotal: 12.5, cpuPercentPerCore: [10, 15], cpuCountLogical: 2, cpuCountPhysical: 1, cpuFreqCurrent: 2596.1)
        document.cpu = before
        try collector.collect(into: &document, elapsed: nil)
        var expected = before
        expected.loadAverage = [0.69, 1.15, 1.53]
        #expect(document.cpu == expected)
    }

    @Test("without a cpu section, it creates one with the cpuN count of proc/stat")
    func newSection() throws {
        var collector = LoadCollector(root: Fixtures.root("load"))
        var document = MetricsDocument(timestamp: Date())
        try collector.collect(into: &document, elapsed: nil)
        #expect(document.cpu == MetricsDocument.CPU(cpuCountLogical: 2, loadAverage: [0.69, 1.15, 1.53]))
    }

    @Test("without a cpu section or proc/stat, it fails rather than report 0 CPUs")
    func noStat() throws {
        var collector = LoadCollector(root: Fixtures.root("load-no-stat"))
        var document = MetricsDocument(timestamp: Date())
        #expect(throws: CollectorError.self) { try collector.collect(into: &document, elapsed: nil) }
        #expect(document.cpu == nil)

        document.cpu = MetricsDocument.CPU(cpuCountLogical: 2)
        try collector.collect(into: &document, elapsed: nil)
        #expect(document.cpu?.loadAverage == [0.69, 1.15, 1.53])
    }

    @Test("a malformed or missing loadavg is a collector error")
    func malformed() {
        var document = MetricsDocument(timestamp: Date())
        var malformed = LoadCollector(root: Fixtures.root("load-malformed"))
        #expect(throws: CollectorError.self) { try malformed.collect(into: &document, elapsed: nil) }
        var missing = LoadCollector(root: SystemRoot("/nonexistent"))
        #expect(throws: CollectorError.self) { try missing.collect(into: &document, elapsed: nil) }
        #expect(document.cpu == nil)
    }

    @Test("in a registry, cpu and load fill one section whichever runs first")
    func registry() throws {
        let root = Fixtures.root("load")
        for collectors in [[CPUCollector(root: root), LoadCollector(root: root)] as [any Collector], [LoadCollector(root: root), CPUCollector(root: root)]] {
            var registry = CollectorRegistry(collectors: collectors)
            let (document, failures) = registry.sample(hostname: "h")
            #expect(failures.isEmpty)
            let cpu = try #require(document.cpu)
            #expect(cpu.loadAverage == [0.69, 1.15, 1.53])
            #expect(cpu.cpuCountLogical == 2)
        }
    }

    @Test("live: three finite, non-negative numbers")
    func live() throws {
        var collector = LoadCollector()
        var document = MetricsDocument(timestamp: Date())
        try collector.collect(into: &document, elapsed: nil)
        let load = try #require(document.cpu?.loadAverage)
        #expect(load.count == 3)
        #expect(load.allSatisfy { $0.isFinite && $0 >= 0 })
    }
}
