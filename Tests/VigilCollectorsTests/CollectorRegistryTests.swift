import Foundation
import Testing
import VigilMetrics
@testable import VigilCollectors

@Suite("Collector registry")
struct CollectorRegistryTests {
    @Test("a failing collector leaves its section out; the others go on and the failure is reported")
    func failureIsolated() throws {
        // The memory fixture has proc/meminfo but no proc/stat: cpu fails, memory works.
        var registry = CollectorRegistry.standard(root: Fixtures.root("memory"), disabled: ["filesystem", "diskio", "network", "system", "processes", "load"])
        let (document, failures) = registry.sample(hostname: "h")
        #expect(document.memory?.memoryTotal == 24_684_092 * 1024)
        #expect(document.cpu == nil)
        #expect(failures.keys.sorted() == ["cpu"])
        #expect(failures["cpu"]?.description.contains("proc/stat") == true)
    }

    @Test("disabled collectors do not run")
    func disabled() {
        let registry = CollectorRegistry.standard(disabled: ["processes", "diskio"])
        #expect(registry.collectors.map(\.name) == ["cpu", "load", "memory", "filesystem", "network", "system"])
        #expect(CollectorRegistry.standard().collectors.map(\.name) == CollectorRegistry.allNames)
    }

    @Test("the live system: every collector produces its section, and rates appear on the second sample")
    func live() throws {
        var registry = CollectorRegistry.standard()
        let start = ContinuousClock.now
        let (first, firstFailures) = registry.sample(hostname: "live", now: start)
        #expect(firstFailures.isEmpty, "\(firstFailures)")
        #expect(first.cpu?.cpuPercentTotal == nil, "no interval yet")
        let (second, failures) = registry.sample(hostname: "live", now: start + .seconds(1))
        #expect(failures.isEmpty, "\(failures)")
        #expect(second.cpu?.cpuPercentTotal != nil)
        #expect(second.memory != nil && second.disk != nil && second.system != nil && second.processes != nil)
        #expect(second.io?.network != nil && second.io?.diskIO != nil)
        let json = try JSONEncoder().encode(second)
        #expect(try JSONDecoder().decode(MetricsDocument.self, from: json).memory == second.memory, "the document round-trips")
    }
}
