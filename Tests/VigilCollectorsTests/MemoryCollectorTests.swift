import Foundation
import Testing
import VigilMetrics
@testable import VigilCollectors

@Suite("Memory collector")
struct MemoryCollectorTests {
    @Test("meminfo becomes bytes, with used = total - available as free(1) computes it")
    func fixture() throws {
        var collector = MemoryCollector(root: Fixtures.root("memory"))
        var document = MetricsDocument(timestamp: Date())
        try collector.collect(into: &document, elapsed: nil)
        let memory = try #require(document.memory)
        #expect(memory.memoryTotal == 24_684_092 * 1024)
        #expect(memory.memoryFree == 23_784_280 * 1024)
        #expect(memory.memoryAvailable == 24_212_488 * 1024)
        #expect(memory.memoryUsed == (24_684_092 - 24_212_488) * 1024)
        #expect(memory.memoryPercent == 1.91)  // 471604 / 24684092 = 1.9105…%
        #expect(memory.swapTotal == 2_097_148 * 1024)
        #expect(memory.swapFree == 1_048_574 * 1024)
        #expect(memory.swapUsed == 1_048_574 * 1024)
        #expect(memory.swapPercent == 50)
    }

    @Test("without MemAvailable (kernels before 3.14) available is estimated from free, buffers and caches")
    func oldKernel() throws {
        var collector = MemoryCollector(root: Fixtures.root("memory-old-kernel"))
        var document = MetricsDocument(timestamp: Date())
        try collector.collect(into: &document, elapsed: nil)
        let memory = try #require(document.memory)
        #expect(memory.memoryAvailable == 550_000 * 1024)
        #expect(memory.memoryUsed == 450_000 * 1024)
        #expect(memory.memoryPercent == 45)
        #expect(memory.swapPercent == 0, "no swap is 0 %, not NaN")
    }

    @Test("a missing meminfo is a collector error naming the file")
    func missing() {
        var collector = MemoryCollector(root: SystemRoot("/nonexistent"))
        var document = MetricsDocument(timestamp: Date())
        #expect(throws: CollectorError.self) { try collector.collect(into: &document, elapsed: nil) }
        #expect(document.memory == nil)
    }
}
