import Foundation
import Testing
import VigilMetrics
@testable import VigilCollectors

@Suite("CPU collector")
struct CPUCollectorTests {
    /// Runs `collector` once on each scenario in turn (the same value, so it keeps its previous
    /// sample) and returns the cpu section of the last run.
    static func run(_ scenarios: String...) throws -> MetricsDocument.CPU {
        var collector = CPUCollector(root: Fixtures.root(scenarios[0]))
        var document = MetricsDocument(timestamp: Date())
        for scenario in scenarios {
            collector.root = Fixtures.root(scenario)
            document = MetricsDocument(timestamp: Date())
            try collector.collect(into: &document, elapsed: 1)
        }
        return try #require(document.cpu)
    }

    @Test("the first sample has counts and frequency but no busy share")
    func firstSample() throws {
        let cpu = try Self.run("cpu-a")
        #expect(cpu.cpuPercentTotal == nil)
        #expect(cpu.cpuPercentPerCore == nil)
        #expect(cpu.cpuCountLogical == 2)
        #expect(cpu.cpuCountPhysical == 2)
        #expect(cpu.cpuFreqCurrent == 2500.25)  // (2000.000 + 3000.500) / 2
        #expect(cpu.loadAverage == nil)
    }

    @Test("busy share over the interval, guest time not counted twice")
    func interval() throws {
        let cpu = try Self.run("cpu-a", "cpu-b")
        // aggregate: Δuser 700 + Δnice 100 + Δsystem 300 + Δidle 700 + Δiowait 50 + Δsoftirq 75 + Δsteal 75 = 2000;
        // busy = 2000 − 700 − 50 = 1250 → 62.5 %. (Δguest 100 would make it 1350 / 2100 if it were added.)
        #expect(cpu.cpuPercentTotal == 62.5)
        // cpu0: Δ 200 + 0 + 100 + 600 + 50 + 25 + 25 = 1000, busy 350; cpu1: Δ 500 + 100 + 200 + 100 + 0 + 50 + 50 = 1000, busy 900
        #expect(cpu.cpuPercentPerCore == [35, 90])
        #expect(cpu.cpuCountLogical == 2)
    }

    @Test("no time passed: nil, not NaN")
    func emptyInterval() throws {
        let cpu = try Self.run("cpu-a", "cpu-a")
        #expect(cpu.cpuPercentTotal == nil)
        #expect(cpu.cpuPercentPerCore == nil)
    }

    @Test("iowait may decrease while idle takes the time over (proc.rst): still a share")
    func iowaitDip() throws {
        // per core Δuser 100, Δidle 430, Δiowait −30: idle + iowait +400, total 500, busy 100
        let cpu = try Self.run("cpu-a", "cpu-iowait-dip")
        #expect(cpu.cpuPercentTotal == 20)
        #expect(cpu.cpuPercentPerCore == [20, 20])
    }

    @Test("counters going backwards (reboot) give nil, and the next interval is measured from the new values")
    func reboot() throws {
        let afterReboot = try Self.run("cpu-a", "cpu-reboot-a")
        #expect(afterReboot.cpuPercentTotal == nil)
        #expect(afterReboot.cpuPercentPerCore == nil)
        #expect(afterReboot.cpuCountLogical == 2)

        // Δ user 200 + nice 100 + system 100 + idle 500 + iowait 50 + softirq 50 = 1000, busy 450
        let next = try Self.run("cpu-a", "cpu-reboot-a", "cpu-reboot-b")
        #expect(next.cpuPercentTotal == 45)
        #expect(next.cpuPercentPerCore == [45, 45])
    }

    @Test("one core going backwards spoils the per-core array only")
    func coreBackwards() throws {
        let cpu = try Self.run("cpu-a", "cpu-core-backwards")
        #expect(cpu.cpuPercentTotal == 30)  // aggregate Δuser 300, Δidle 700
        #expect(cpu.cpuPercentPerCore == nil)
    }

    @Test("two sockets × two cores × two threads: 8 logical, 4 physical")
    func multiSocket() throws {
        let cpu = try Self.run("cpu-multisocket")
        #expect(cpu.cpuCountLogical == 8)
        #expect(cpu.cpuCountPhysical == 4)  // core ids repeat across sockets: counting them alone would give 2
        #expect(cpu.cpuFreqCurrent == 2100)  // (1200 + 1800 + 2400 + 3000) / 4, twice
    }

    @Test("core id without physical id, and frequency from cpufreq in kHz")
    func sysfsFrequency() throws {
        let cpu = try Self.run("cpu-sysfs-freq")
        #expect(cpu.cpuCountLogical == 4)
        #expect(cpu.cpuCountPhysical == 2)
        #expect(cpu.cpuFreqCurrent == 2000)  // (1500000 + 2500000 + 1000000 + 3000000) kHz / 4 / 1000; cpufreq/policy0 ignored
    }

    @Test("an arm64 cpuinfo without topology or MHz: nil, not 0")
    func arm() throws {
        let cpu = try Self.run("cpu-arm")
        #expect(cpu.cpuCountLogical == 2)
        #expect(cpu.cpuCountPhysical == nil)
        #expect(cpu.cpuFreqCurrent == nil)
    }

    @Test("a load average already in the document is kept")
    func keepsLoad() throws {
        var collector = CPUCollector(root: Fixtures.root("cpu-a"))
        var document = MetricsDocument(timestamp: Date())
        document.cpu = MetricsDocument.CPU(cpuCountLogical: 0, loadAverage: [1, 2, 3])
        try collector.collect(into: &document, elapsed: nil)
        #expect(document.cpu?.loadAverage == [1, 2, 3])
        #expect(document.cpu?.cpuCountLogical == 2)
    }

    @Test("a missing proc/stat is a collector error, and the section is left out")
    func missing() {
        var collector = CPUCollector(root: SystemRoot("/nonexistent"))
        var document = MetricsDocument(timestamp: Date())
        #expect(throws: CollectorError.self) { try collector.collect(into: &document, elapsed: nil) }
        #expect(document.cpu == nil)
    }

    @Test("a stat line that is not numbers is a collector error")
    func malformed() {
        #expect(throws: CollectorError.self) { try CPUCollector.parseStat("cpu  1 2 x 4\n") }
        #expect(throws: CollectorError.self) { try CPUCollector.parseStat("intr 1 2 3\n") }
    }

    @Test("live: two samples 100 ms apart give a share in 0...100 and the online CPU count")
    func live() async throws {
        var collector = CPUCollector()
        var document = MetricsDocument(timestamp: Date())
        try collector.collect(into: &document, elapsed: nil)
        #expect(document.cpu?.cpuPercentTotal == nil)
        try await Task.sleep(for: .milliseconds(100))
        try collector.collect(into: &document, elapsed: 0.1)
        let cpu = try #require(document.cpu)
        let total = try #require(cpu.cpuPercentTotal)
        #expect(total >= 0 && total <= 100)
        #expect(cpu.cpuCountLogical == sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        if let perCore = cpu.cpuPercentPerCore {
            #expect(perCore.count == cpu.cpuCountLogical)
            #expect(perCore.allSatisfy { $0 >= 0 && $0 <= 100 })
        }
    }
}
