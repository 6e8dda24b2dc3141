import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `vigil-bench alerts`: how long from a host's DOWN to the webhook that says so.
struct AlertsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Kill K agents one after another; report DOWN → webhook latency (p50/p99) and kill → webhook.",
        discussion: """
        The server gets an alerting file with one webhook channel pointing at a receiver inside the \
        bench (generic JSON preset, `group_wait` as given) and its shipped `host_down` rule. Among N \
        healthy agents, K are killed one at a time, `--spacing` seconds apart (each kill closes the \
        agent's socket without a goodbye, as SIGKILL does). For each, the receiver notes when the \
        firing `host_down` notification arrived; DOWN → webhook is that time minus the alert's \
        `starts_at` (the DOWN event's time on the server's clock, the same machine's), kill → webhook \
        adds the detection. Every killed host must be notified exactly once.
        """
    )

    @OptionGroup var fleet: FleetOptions

    @Option(help: "Agents killed, one after another.")
    var kills = 100

    @Option(help: "Seconds between kills.")
    var spacing = 0.3

    @Option(help: "Heartbeat interval, seconds.")
    var heartbeat = 1.0

    @Option(help: "The route's group_wait (how long the first alert of a host waits for others).")
    var groupWait = "500ms"

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard self.kills >= 1, self.kills <= self.fleet.agents else { throw ValidationError("--kills must be in 1...--agents") }
        guard self.spacing >= 0, self.spacing <= 60, self.heartbeat >= 0.1, self.heartbeat <= 60 else {
            throw ValidationError("--spacing must be in 0...60 s, --heartbeat in 0.1...60 s")
        }
    }

    func run() async throws {
        Cleanup.shared.installSignalHandlers()
        let progress = self.common.progressPrinter()
        _ = try self.fleet.raiseFileLimit()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: self.fleet.loadGeneratorThreads)
        let receiver = try await WebhookReceiver.start(group: group)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-alerts-\(UUID().uuidString).yaml").path
        try """
            channels:
              - {name: bench, type: webhook, url: "http://127.0.0.1:\(receiver.port)/hook", timeout: 5s}
            routes:
              - {channels: [bench], group_wait: \(self.groupWait), repeat_interval: 24h}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let server = try await self.fleet.startServer(self.common, heartbeat: self.heartbeat, environment: ["VIGIL_ALERTING_FILE": file])
        defer { server.removeDirectory() }
        let fleet = AgentFleet(group: group, port: server.agentPort, connectionsPerSource: self.fleet.perSource, tls: server.clientTLS)
        let report: AlertsReport
        do {
            let hosts = (0..<self.fleet.agents).map { (index: $0, hostname: String(format: "alert-%07d", $0), startMs: Int64(0)) }
            let agents = try await fleet.connect(hosts, batch: self.fleet.connectBatch, timeout: .seconds(60))
            progress("\(self.fleet.agents) agents connected; settling 5 intervals, then killing \(self.kills), \(self.spacing) s apart")
            try await Task.sleep(for: .seconds(self.heartbeat * 5))
            var killedAt: [String: Date] = [:]
            for agent in agents.prefix(self.kills) {
                killedAt[agent.hostname] = Date()
                fleet.kill(agent)
                try await Task.sleep(for: .seconds(self.spacing))
            }
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                if Set(receiver.received.map(\.hostname)).isSuperset(of: killedAt.keys) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            try await Task.sleep(for: .seconds(2))  // a duplicate would come now
            let arrivals = receiver.received
            var first: [String: WebhookReceiver.Arrival] = [:]
            for arrival in arrivals where first[arrival.hostname] == nil { first[arrival.hostname] = arrival }
            let downToHook = first.values.map { $0.receivedAt.timeIntervalSince($0.downAt) }.sorted()
            let killToHook = first.values.compactMap { a in killedAt[a.hostname].map { a.receivedAt.timeIntervalSince($0) } }.sorted()
            let counts = Dictionary(grouping: arrivals, by: \.hostname).mapValues(\.count)
            report = AlertsReport(
                date: Date().formatted(.iso8601), agents: self.fleet.agents, kills: self.kills, heartbeatSeconds: self.heartbeat, groupWait: self.groupWait,
                notified: first.count, duplicates: counts.values.filter { $0 > 1 }.count, falseAlerts: Set(first.keys).subtracting(killedAt.keys).count,
                downToWebhook: AlertsReport.Percentiles(downToHook), killToWebhook: AlertsReport.Percentiles(killToHook), loadAtEnd: .now())
        } catch {
            await ConnectionsBenchmark.tearDown(fleet, server, group)
            await receiver.close()
            throw error
        }
        await receiver.close()
        await ConnectionsBenchmark.tearDown(fleet, server, group)
        try self.common.print(report) { $0.table() }
        if report.notified < report.kills || report.duplicates > 0 || report.falseAlerts > 0 {
            throw BenchmarkError("\(report.notified) of \(report.kills) DOWNs notified, \(report.duplicates) duplicated, \(report.falseAlerts) false")
        }
    }
}

struct AlertsReport: Codable, Sendable {
    struct Percentiles: Codable, Sendable {
        var count: Int
        var p50: Double?
        var p99: Double?
        var max: Double?

        init(_ sorted: [Double]) {
            self.count = sorted.count
            func at(_ q: Double) -> Double? { sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.up)) - 1)] }
            self.p50 = at(0.5)
            self.p99 = at(0.99)
            self.max = sorted.last
        }

        var summary: String {
            guard let p50, let p99, let max else { return "-" }
            return String(format: "p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d)", p50 * 1000, p99 * 1000, max * 1000, self.count)
        }
    }

    var date: String
    var agents: Int
    var kills: Int
    var heartbeatSeconds: Double
    var groupWait: String
    var notified: Int
    var duplicates: Int
    var falseAlerts: Int
    var downToWebhook: Percentiles
    var killToWebhook: Percentiles
    var loadAtEnd: MachineLoad

    func table() -> String {
        var printer = ReportPrinter()
        printer.section("DOWN → webhook: \(self.kills) kills among \(Format.number(self.agents)) agents, \(self.heartbeatSeconds) s heartbeats, group_wait \(self.groupWait)")
        printer.row("notified / duplicated / false", "\(self.notified) / \(self.duplicates) / \(self.falseAlerts)")
        printer.row("DOWN event → webhook", self.downToWebhook.summary)
        printer.row("kill → webhook", self.killToWebhook.summary)
        printer.row("machine load at end", String(format: "%.2f (%d cores)", self.loadAtEnd.loadAverage1m, self.loadAtEnd.cores))
        return printer.render()
    }
}
