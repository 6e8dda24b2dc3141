import Foundation
import Testing
import VigilAlerting
import VigilMetrics

@Suite struct RuleEvaluatorTests {
    static let names = ["cpu.cpu_percent_total", "memory.memory_percent", "disk.partitions[/].percent", "disk.partitions[/var].percent", "system.boot_time"]

    static func evaluator(_ rules: [AlertRule], defaults: Bool = false) throws -> RuleEvaluator {
        RuleEvaluator(rules: try RuleSet(configured: rules, stored: [], includeDefaults: defaults))
    }

    static func cpuRule(for duration: AlertDuration = .seconds(10), window: AlertDuration = .seconds(1), threshold: Double = 90, recovery: Double? = 85) -> AlertRule {
        AlertRule(name: "cpu", series: "cpu.percent", aggregate: .avg, window: window, op: .above, threshold: threshold, recovery: recovery, duration: duration)
    }

    static func values(cpu: Double, root: Double = 10, varFS: Double = 10, boot: Double = 1000) -> [Double] { [cpu, 50, root, varFS, boot] }

    @Test func firesOnlyAfterForAndResolvesOnlyPastRecovery() throws {
        var evaluator = try Self.evaluator([Self.cpuRule()])
        var t: Int64 = 0
        func feed(_ cpu: Double) -> [AlertTransition] {
            t += 5000
            return evaluator.observe(hostname: "web-1", at: t, names: Self.names, values: Self.values(cpu: cpu), processes: nil)
        }
        #expect(feed(50).isEmpty)
        #expect(feed(95).map(\.status) == [.pending])
        #expect(feed(95).isEmpty)  // 5 s of 10 s
        let fired = feed(95)
        #expect(fired.map(\.status) == [.firing])
        #expect(fired.first?.value == 95 && fired.first?.threshold == 90)
        // Hysteresis: 88 is below the threshold but above the recovery threshold: still firing.
        #expect(feed(88).isEmpty)
        #expect(feed(86).isEmpty)
        let resolved = feed(84)
        #expect(resolved.map(\.status) == [.resolved])
        #expect(resolved.first?.previous == .firing)
        #expect(resolved.first?.isNotifiable == true)
    }

    @Test func pendingThatStopsBreachingResolvesWithoutNotifying() throws {
        var evaluator = try Self.evaluator([Self.cpuRule()])
        #expect(evaluator.observe(hostname: "h", at: 1000, names: Self.names, values: Self.values(cpu: 95), processes: nil).map(\.status) == [.pending])
        let changes = evaluator.observe(hostname: "h", at: 7000, names: Self.names, values: Self.values(cpu: 80), processes: nil)
        #expect(changes.map(\.status) == [.resolved])
        #expect(changes.first?.previous == .pending)
        #expect(changes.first?.isNotifiable == false)
    }

    @Test func windowAveragesOverItsLength() throws {
        var evaluator = try Self.evaluator([Self.cpuRule(for: .zero, window: .seconds(10))])
        #expect(evaluator.observe(hostname: "h", at: 0, names: Self.names, values: Self.values(cpu: 100), processes: nil).map(\.status) == [.firing])
        // avg(100, 0) = 50 < 85: resolves.
        #expect(evaluator.observe(hostname: "h", at: 5000, names: Self.names, values: Self.values(cpu: 0), processes: nil).map(\.status) == [.resolved])
        // avg(0, 100) = 50: not breaching; once the 0 has left the window (>10 s later), 100 alone fires.
        #expect(evaluator.observe(hostname: "h", at: 10_000, names: Self.names, values: Self.values(cpu: 100), processes: nil).isEmpty)
        #expect(evaluator.observe(hostname: "h", at: 16_000, names: Self.names, values: Self.values(cpu: 100), processes: nil).map(\.status) == [.firing])
    }

    @Test func patternRuleWatchesEachFilesystemSeparately() throws {
        let rule = AlertRule(name: "fs", series: "disk.partitions[*].percent", aggregate: .last, op: .above, threshold: 90, recovery: 88)
        var evaluator = try Self.evaluator([rule])
        let changes = evaluator.observe(hostname: "h", at: 0, names: Self.names, values: Self.values(cpu: 1, root: 95, varFS: 99), processes: nil)
        #expect(changes.count == 2)
        #expect(Set(changes.compactMap(\.key)) == ["/", "/var"])
        #expect(Set(changes.map(\.fingerprint)).count == 2)
    }

    @Test func hostDownFiresAtOnceAndResolvesOnRecovery() throws {
        var evaluator = try Self.evaluator([], defaults: true)
        _ = evaluator.presence(.connected(afterCleanStop: false), of: "h", at: 0)
        let down = evaluator.presence(.down(reason: "no heartbeat for 3 s"), of: "h", at: 1000)
        #expect(down.map(\.rule) == ["host_down"])
        #expect(down.first?.status == .firing && down.first?.severity == .critical && down.first?.reason == "no heartbeat for 3 s")
        #expect(evaluator.isDown("h"))
        #expect(evaluator.presence(.down(reason: "again"), of: "h", at: 2000).isEmpty)  // once
        #expect(evaluator.presence(.up, of: "h", at: 3000).map(\.status) == [.resolved])
        // A DOWN host that comes back on a new connection resolves too.
        _ = evaluator.presence(.down(reason: "gone"), of: "h", at: 4000)
        #expect(evaluator.presence(.connected(afterCleanStop: false), of: "h", at: 5000).map(\.status) == [.resolved])
    }

    @Test func noDataFiresForASilentConnectedHostAndResolvesOnASample() throws {
        var evaluator = try Self.evaluator([AlertRule(name: "quiet", kind: .noData, duration: .seconds(30))])
        _ = evaluator.presence(.connected(afterCleanStop: false), of: "h", at: 0)
        #expect(evaluator.tick(at: 29_000).isEmpty)
        #expect(evaluator.tick(at: 30_000).map(\.rule) == ["quiet"])
        #expect(evaluator.tick(at: 31_000).isEmpty)
        #expect(evaluator.observe(hostname: "h", at: 32_000, names: Self.names, values: Self.values(cpu: 1), processes: nil).map(\.status) == [.resolved])
    }

    @Test func agentRestartAndRebootAreEventAlertsThatExpire() throws {
        var evaluator = try Self.evaluator([AlertRule(name: "restarted", kind: .agentRestarted, duration: .seconds(60))])
        #expect(evaluator.presence(.connected(afterCleanStop: true), of: "h", at: 0).map(\.status) == [.firing])
        #expect(evaluator.tick(at: 59_000).isEmpty)
        #expect(evaluator.tick(at: 60_000).map(\.status) == [.resolved])
        _ = evaluator.observe(hostname: "h", at: 61_000, names: Self.names, values: Self.values(cpu: 1, boot: 1000), processes: nil)
        let reboot = evaluator.observe(hostname: "h", at: 62_000, names: Self.names, values: Self.values(cpu: 1, boot: 5000), processes: nil)
        #expect(reboot.map(\.rule) == ["restarted"])
    }

    @Test func firingCPUAlertCarriesTheTopThreeProcesses() throws {
        var evaluator = try Self.evaluator([Self.cpuRule(for: .zero)])
        let top = (1...5).map { MetricsDocument.Processes.Process(pid: $0, name: "p\($0)", user: "u", cpuPercent: Double(100 - $0), rss: 1) }
        let changes = evaluator.observe(hostname: "h", at: 0, names: Self.names, values: Self.values(cpu: 99),
                                        processes: MetricsDocument.Processes(total: 5, topCPU: top, topMemory: []))
        #expect(changes.first?.topProcesses.map(\.name) == ["p1", "p2", "p3"])
    }

    @Test func changingARuleResolvesItsAlertsAndKeepsOthers() throws {
        var evaluator = try Self.evaluator([Self.cpuRule(for: .zero), AlertRule(name: "mem", series: "memory.percent", op: .above, threshold: 40)])
        #expect(evaluator.observe(hostname: "h", at: 0, names: Self.names, values: Self.values(cpu: 99), processes: nil).count == 2)
        let changed = evaluator.replace(rules: try RuleSet(configured: [Self.cpuRule(for: .zero, threshold: 95), AlertRule(name: "mem", series: "memory.percent", op: .above, threshold: 40)], stored: [], includeDefaults: false), at: 1)
        #expect(changed.map(\.rule) == ["cpu"])
        #expect(changed.first?.status == .resolved)
    }

    @Test func restoredFiringAlertResolvesWhenTheConditionEnds() throws {
        var evaluator = try Self.evaluator([Self.cpuRule(for: .zero)])
        evaluator.restoreFiring(rule: "cpu", hostname: "h", series: "cpu.cpu_percent_total", since: 0)
        #expect(evaluator.observe(hostname: "h", at: 1000, names: Self.names, values: Self.values(cpu: 91), processes: nil).isEmpty)
        let resolved = evaluator.observe(hostname: "h", at: 2000, names: Self.names, values: Self.values(cpu: 10), processes: nil)
        #expect(resolved.map(\.status) == [.resolved])
        #expect(resolved.first?.previous == .firing)
    }

    @Test func scopeLimitsHosts() throws {
        var rule = Self.cpuRule(for: .zero)
        rule.scope = HostScope(hosts: [Glob("web-*")])
        var evaluator = try Self.evaluator([rule])
        #expect(evaluator.observe(hostname: "db-1", at: 0, names: Self.names, values: Self.values(cpu: 99), processes: nil).isEmpty)
        #expect(evaluator.observe(hostname: "web-1", at: 0, names: Self.names, values: Self.values(cpu: 99), processes: nil).count == 1)
    }
}
