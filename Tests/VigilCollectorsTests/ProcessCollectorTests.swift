import Foundation
import Testing
@testable import VigilCollectors
import VigilMetrics
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

private typealias Proc = MetricsDocument.Processes.Process

@Suite("ProcessCollector")
struct ProcessCollectorTests {
    private static func fixture(_ name: String) throws -> SystemRoot {
        let fixtures = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return SystemRoot(fixtures.appendingPathComponent(name).path)
    }

    private static func collector(_ sample: String, top: Int = 10) throws -> ProcessCollector {
        ProcessCollector(root: try fixture(sample), top: top, clockTicksPerSecond: 100, pageSize: 4096)
    }

    private static func collect(_ collector: inout ProcessCollector, elapsed: Double?) throws -> MetricsDocument.Processes {
        var document = MetricsDocument(timestamp: Date(timeIntervalSince1970: 0))
        try collector.collect(into: &document, elapsed: elapsed)
        return try #require(document.processes)
    }

    @Test func firstSampleHasNamesUsersAndMemoryButNoCPU() throws {
        var collector = try Self.collector("processes-a")
        #expect(collector.name == "processes")
        let processes = try Self.collect(&collector, elapsed: nil)

        // 5 readable processes; pid 999 vanished (no stat), `sys` and `uptime` are not pids.
        #expect(processes.total == 5)
        // No interval yet: every cpu_percent is nil, so top_cpu is by pid.
        #expect(processes.topCPU == [
            Proc(pid: 1, name: "systemd", user: "root", cpuPercent: nil, rss: 3000 * 4096),
            Proc(pid: 42, name: "(sd-pam)", user: "alice", cpuPercent: nil, rss: 400 * 4096),
            Proc(pid: 100, name: "tmux: server", user: "alice", cpuPercent: nil, rss: 1200 * 4096),
            Proc(pid: 200, name: "a) b", user: "1001", cpuPercent: nil, rss: 50000 * 4096),
            Proc(pid: 300, name: "worker", user: "www-data", cpuPercent: nil, rss: 1200 * 4096),
        ])
        // By rss, descending; 100 and 300 tie at 1200 pages and go by pid.
        #expect(processes.topMemory.map(\.pid) == [200, 1, 100, 300, 42])
        #expect(processes.topMemory.map(\.rss) == [204_800_000, 12_288_000, 4_915_200, 4_915_200, 1_638_400])
    }

    @Test func firstSampleWithElapsedStillHasNoCPU() throws {
        var collector = try Self.collector("processes-b")
        let processes = try Self.collect(&collector, elapsed: 2)
        #expect(processes.total == 6)
        #expect(processes.topCPU.allSatisfy { $0.cpuPercent == nil })
    }

    @Test func secondSampleHasCPUMatchedByPidAndStartTime() throws {
        var collector = try Self.collector("processes-a")
        _ = try Self.collect(&collector, elapsed: nil)
        collector.root = try Self.fixture("processes-b")
        let processes = try Self.collect(&collector, elapsed: 2)

        #expect(processes.total == 6)
        // 100 × Δticks / 100 ticks/s / 2 s. Pid 300 was reused (start time 5000 → 9000): its ticks
        // went up 42 → 48 but belong to another process, so nil; pid 400 is new, so nil.
        #expect(processes.topCPU == [
            Proc(pid: 200, name: "a) b", user: "1001", cpuPercent: 150, rss: 50000 * 4096),
            Proc(pid: 42, name: "(sd-pam)", user: "alice", cpuPercent: 25, rss: 400 * 4096),
            Proc(pid: 100, name: "tmux: server", user: "alice", cpuPercent: 25, rss: 1250 * 4096),
            Proc(pid: 1, name: "systemd", user: "root", cpuPercent: 6, rss: 3000 * 4096),
            Proc(pid: 300, name: "worker", user: "www-data", cpuPercent: nil, rss: 800 * 4096),
            Proc(pid: 400, name: "kworker/0:1", user: "nobody", cpuPercent: nil, rss: 0),
        ])
        #expect(processes.topMemory.map(\.pid) == [200, 1, 100, 300, 42, 400])
        #expect(processes.topMemory.map(\.rss) == [204_800_000, 12_288_000, 5_120_000, 3_276_800, 1_638_400, 0])
    }

    @Test func reusedPidIsComparedWithItsOwnPreviousSampleAfterwards() throws {
        // b then b again: the reused pid 300 and the new pid 400 now have a previous sample.
        var collector = try Self.collector("processes-b")
        _ = try Self.collect(&collector, elapsed: nil)
        let processes = try Self.collect(&collector, elapsed: 5)
        #expect(processes.topCPU.map(\.cpuPercent) == [0, 0, 0, 0, 0, 0])
        #expect(processes.topCPU.map(\.pid) == [1, 42, 100, 200, 300, 400])
    }

    @Test func topLimitsBothLists() throws {
        var collector = try Self.collector("processes-a", top: 3)
        _ = try Self.collect(&collector, elapsed: nil)
        collector.root = try Self.fixture("processes-b")
        let processes = try Self.collect(&collector, elapsed: 2)
        #expect(processes.total == 6)
        #expect(processes.topCPU.map(\.pid) == [200, 42, 100])
        #expect(processes.topCPU.map(\.cpuPercent) == [150, 25, 25])
        #expect(processes.topMemory.map(\.pid) == [200, 1, 100])
    }

    @Test func missingProcThrowsAndLeavesTheSectionOut() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty.appendingPathComponent("proc/sys"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }

        var collector = ProcessCollector(root: SystemRoot(empty.path), clockTicksPerSecond: 100, pageSize: 4096)
        var document = MetricsDocument(timestamp: Date(timeIntervalSince1970: 0))
        #expect(throws: CollectorError.self) { try collector.collect(into: &document, elapsed: nil) }
        #expect(document.processes == nil)

        var nowhere = ProcessCollector(root: SystemRoot(empty.appendingPathComponent("absent").path), clockTicksPerSecond: 100, pageSize: 4096)
        #expect(throws: CollectorError.self) { try nowhere.collect(into: &document, elapsed: nil) }
    }

    @Test func statNameIsBetweenFirstOpenAndLastClose() throws {
        let stat = try #require(ProcessCollector.parseStat(
            "7 (x) (y) z) S 1 7 7 0 -1 4194560 0 0 0 0 11 22 0 0 20 0 1 0 33 0 44 18446744073709551615\n"))
        #expect(stat == ProcessCollector.Stat(name: "x) (y) z", utime: 11, stime: 22, startTime: 33, rssPages: 44))
        #expect(ProcessCollector.parseStat("7 (truncated) S 1 7") == nil)
        #expect(ProcessCollector.parseStat("garbage") == nil)
    }

    @Test func passwdAndStatusParsing() {
        let users = ProcessCollector.parsePasswd("root:x:0:0::/root:/bin/sh\n#c:x:5:5\nbad\ntoor:x:0:0::/:/bin/sh\nalice:x:1000:1000:::\n")
        #expect(users == [0: "root", 1000: "alice"])
        #expect(ProcessCollector.realUID(fromStatus: "Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t5\t5\t5\t5\n") == 1000)
        #expect(ProcessCollector.realUID(fromStatus: "Name:\tx\n") == nil)
        #expect(ProcessCollector.pid(from: "123") == 123)
        #expect(ProcessCollector.pid(from: "self") == nil)
        #expect(ProcessCollector.pid(from: "+5") == nil)
    }

    @Test func findsItselfOnThisMachine() throws {
        var collector = ProcessCollector(top: Int.max)
        var document = MetricsDocument(timestamp: Date())
        try collector.collect(into: &document, elapsed: nil)
        let processes = try #require(document.processes)
        #expect(processes.total > 0)
        #expect(processes.topMemory.count == processes.total)
        let me = try #require(processes.topMemory.first { $0.pid == Int(getpid()) })
        #expect(me.rss > 0)
        #expect(!me.name.isEmpty)
        if getuid() == 0 { #expect(me.user == "root") }

        // A second sample has a share for this (still running) process.
        try collector.collect(into: &document, elapsed: 1)
        let again = try #require(document.processes?.topCPU.first { $0.pid == Int(getpid()) })
        #expect(again.cpuPercent != nil)
    }
}
