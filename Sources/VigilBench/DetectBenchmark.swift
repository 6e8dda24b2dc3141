import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `vigil-bench detect`: how fast the failure detector sees hung and crashed agents, and whether
/// it raises a false alarm for the healthy ones meanwhile.
struct DetectBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Among N healthy agents, silence K (heartbeats stop, socket open) and kill K (socket closed); report detection latency per kind and false DOWN.",
        discussion: """
        The agents settle for `--settle` heartbeat intervals (the detector learns their rhythm), then \
        K stop their heartbeats and K close their connections at the same moment. Latency is from \
        that moment to the DOWN event's time as the server stored it (same clock). Any DOWN of an \
        agent that was not failed is a false alarm; the run exits 1 if there is one, or if a failed \
        agent is not detected within `--watch` intervals.
        """
    )

    @OptionGroup var fleet: FleetOptions

    @Option(help: "Agents silenced (hung: no heartbeats, connection open).")
    var silent = 10

    @Option(help: "Agents killed (connection closed without a goodbye).")
    var killed = 10

    @Option(help: "Heartbeat interval, seconds.")
    var heartbeat = 1.0

    @Option(help: "Heartbeat intervals to let the fleet settle before the failures.")
    var settle = 10

    @Option(help: "Heartbeat intervals to wait for every failure to be detected.")
    var watch = 10

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard self.silent >= 0, self.killed >= 0, self.silent + self.killed <= self.fleet.agents else {
            throw ValidationError("--silent + --killed must not exceed --agents")
        }
        guard self.heartbeat >= 0.1, self.heartbeat <= 600, self.settle >= 1, self.watch >= 1 else {
            throw ValidationError("--heartbeat must be in 0.1...600 s; --settle and --watch at least 1")
        }
    }

    func run() async throws {
        Cleanup.shared.installSignalHandlers()
        let progress = self.common.progressPrinter()
        _ = try self.fleet.raiseFileLimit()
        let server = try await self.fleet.startServer(self.common, heartbeat: self.heartbeat)
        defer { server.removeDirectory() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: self.fleet.loadGeneratorThreads)
        let fleet = AgentFleet(group: group, port: server.agentPort, connectionsPerSource: self.fleet.perSource, tls: server.clientTLS)
        let report: DetectReport
        do {
            let hosts = (0..<self.fleet.agents).map { (index: $0, hostname: String(format: "det-%07d", $0), startMs: Int64(0)) }
            let agents = try await fleet.connect(hosts, batch: self.fleet.connectBatch, timeout: .seconds(60))
            progress("\(self.fleet.agents) agents connected; settling for \(self.settle) intervals")
            try await Task.sleep(for: .seconds(self.heartbeat * Double(self.settle)))
            let http = try await HTTPClient.connect(group: group, port: server.httpPort)
            let api = VigilAPI(client: http)
            let firstEventID = try await api.newestEventID()
            let silenced = Array(agents[0..<self.silent])
            let killedAgents = Array(agents[self.silent..<(self.silent + self.killed)])
            let failedAt = Date()
            for agent in silenced { try await fleet.silence(agent) }
            for agent in killedAgents { fleet.kill(agent) }
            progress("silenced \(self.silent), killed \(self.killed); watching up to \(self.watch) intervals")
            let failed = Set((silenced + killedAgents).map(\.hostname))
            var down: [String: VigilAPI.Event] = [:]
            let deadline = ContinuousClock.now + .seconds(self.heartbeat * Double(self.watch))
            while ContinuousClock.now < deadline {
                down = try await api.downEvents(after: firstEventID)
                if failed.isSubset(of: down.keys) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            // One more interval, so a late false alarm is seen too.
            try await Task.sleep(for: .seconds(self.heartbeat))
            down = try await api.downEvents(after: firstEventID)
            await http.close()
            let latency = { (group: [SimulatedAgent]) -> [Double] in
                group.compactMap { down[$0.hostname].map { $0.at.timeIntervalSince(failedAt) } }.sorted()
            }
            let falseDown = down.filter { !failed.contains($0.key) }
            report = DetectReport(
                date: Date().formatted(.iso8601), agents: self.fleet.agents, heartbeatSeconds: self.heartbeat,
                silent: DetectReport.Kind(latencies: latency(silenced), failed: self.silent, interval: self.heartbeat),
                killed: DetectReport.Kind(latencies: latency(killedAgents), failed: self.killed, interval: self.heartbeat),
                falseDown: falseDown.count, firstFalseDown: falseDown.first.map { "\($0.key): \($0.value.reason)" },
                loadAtEnd: .now())
        } catch {
            await ConnectionsBenchmark.tearDown(fleet, server, group)
            throw error
        }
        await ConnectionsBenchmark.tearDown(fleet, server, group)
        try self.common.print(report) { $0.table() }
        if report.falseDown > 0 || report.silent.missed > 0 || report.killed.missed > 0 {
            throw BenchmarkError("\(report.falseDown) false DOWN; \(report.silent.missed) silent and \(report.killed.missed) killed agent(s) not detected within \(self.watch) intervals")
        }
    }
}

struct DetectReport: Codable, Sendable {
    struct Kind: Codable, Sendable {
        var failed: Int
        var detected: Int
        var missed: Int
        var p50Seconds: Double?
        var maxSeconds: Double?
        var p50Intervals: Double?
        var maxIntervals: Double?

        init(latencies: [Double], failed: Int, interval: Double) {
            self.failed = failed
            self.detected = latencies.count
            self.missed = failed - latencies.count
            self.p50Seconds = latencies.isEmpty ? nil : latencies[latencies.count / 2]
            self.maxSeconds = latencies.last
            self.p50Intervals = self.p50Seconds.map { $0 / interval }
            self.maxIntervals = self.maxSeconds.map { $0 / interval }
        }
    }

    var date: String
    var agents: Int
    var heartbeatSeconds: Double
    var silent: Kind
    var killed: Kind
    var falseDown: Int
    var firstFalseDown: String?
    var loadAtEnd: MachineLoad

    func table() -> String {
        var printer = ReportPrinter()
        printer.section("Failure detection: \(Format.number(self.agents)) agents at \(self.heartbeatSeconds) s heartbeats")
        for (title, kind) in [("silent (hung)", self.silent), ("killed (socket closed)", self.killed)] {
            let figures = kind.p50Seconds.map { p50 in
                String(format: "p50 %.2f s (%.2f intervals), max %.2f s (%.2f intervals)", p50, kind.p50Intervals ?? 0, kind.maxSeconds ?? 0, kind.maxIntervals ?? 0)
            } ?? "-"
            printer.row(title, "\(kind.detected) of \(kind.failed) detected; \(figures)")
        }
        printer.row("false DOWN among the rest", "\(self.falseDown)" + (self.firstFalseDown.map { " (first: \($0))" } ?? ""))
        printer.row("machine load at end", String(format: "%.2f (%d cores)", self.loadAtEnd.loadAverage1m, self.loadAtEnd.cores))
        return printer.render()
    }
}
