import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `vigil-bench connections`: how many agents one server holds, at what cost, without false alarms.
///
/// Ramps to `--agents` real TCP connections speaking the agent protocol (register, then heartbeats
/// at the server's interval), holds them for `--hold` seconds, and reports connections held,
/// heartbeats per second, DOWN events among the healthy fleet (each one a false alarm), and the
/// server's CPU and resident memory read from /proc.
struct ConnectionsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connections",
        abstract: "Hold N agent connections at a heartbeat interval; report heartbeats/s, false DOWN, server CPU and RSS.",
        discussion: """
        Source addresses are spread over 127.0.0.0/8 (a new one every `--per-source` connections), \
        so more than one address pair's ephemeral ports can be used. The open-file limit is raised \
        to what the fleet needs (the hard limit too, when running as root); each agent needs a \
        descriptor here and one in the server, and the run stops at once, saying so, when the limit \
        cannot hold them.
        """
    )

    @OptionGroup var fleet: FleetOptions

    @Option(help: "Heartbeat interval, seconds.")
    var heartbeat = 10.0

    @Option(help: "Seconds to hold the fleet once every agent is connected.")
    var hold = 30

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard self.heartbeat >= 0.1, self.heartbeat <= 3600 else { throw ValidationError("--heartbeat must be in 0.1...3600 seconds") }
        guard self.hold >= 1, self.hold <= 86_400 else { throw ValidationError("--hold must be in 1...86400 seconds") }
    }

    func run() async throws {
        Cleanup.shared.installSignalHandlers()
        let progress = self.common.progressPrinter()
        let openFiles = try self.fleet.raiseFileLimit()
        let loadAtStart = MachineLoad.now()
        let server = try await self.fleet.startServer(self.common, heartbeat: self.heartbeat)
        defer { server.removeDirectory() }
        progress("server pid \(server.pid): agents on \(server.agentPort); open-file limit \(openFiles)")
        let threads = self.fleet.loadGeneratorThreads
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let fleet = AgentFleet(group: group, port: server.agentPort, connectionsPerSource: self.fleet.perSource, tls: server.clientTLS)
        let report: ConnectionsReport
        do {
            let idleRSS = server.stats?.residentBytes ?? 0
            let beforeRamp = server.stats
            let ramp = Stopwatch()
            let hosts = (0..<self.fleet.agents).map { (index: $0, hostname: String(format: "conn-%07d", $0), startMs: Int64(0)) }
            _ = try await fleet.connect(hosts, batch: self.fleet.connectBatch, timeout: .seconds(60))
            let rampSeconds = ramp.seconds
            // What the storm cost the server: handshakes (TLS with --tls), key checks, registrations.
            let rampCPUSeconds = (server.stats?.cpuSeconds ?? 0) - (beforeRamp?.cpuSeconds ?? 0)
            progress("\(self.fleet.agents) agents connected in \(String(format: "%.1f", rampSeconds)) s; holding \(self.hold) s")
            // The hold starts one interval after the ramp, so every agent has settled into its cadence.
            try await Task.sleep(for: .seconds(min(self.heartbeat, 30)))
            let http = try await HTTPClient.connect(group: group, port: server.httpPort)
            let api = VigilAPI(client: http)
            let firstEventID = try await api.newestEventID()
            let before = server.stats
            let acksBefore = fleet.counters.snapshot.heartbeatAcks
            let hold = Stopwatch()
            try await Task.sleep(for: .seconds(self.hold))
            let holdSeconds = hold.seconds
            let after = server.stats
            let acks = fleet.counters.snapshot.heartbeatAcks - acksBefore
            try server.checkAlive()
            let down = try await api.downEvents(after: firstEventID).sorted { $0.value.id < $1.value.id }.map { "\($0.key): \($0.value.reason)" }
            let health = try await api.health()
            let counters = fleet.counters.snapshot
            report = ConnectionsReport(
                date: Date().formatted(.iso8601), agents: self.fleet.agents, heartbeatSeconds: self.heartbeat, holdSeconds: holdSeconds,
                openFileLimit: openFiles, loadGeneratorThreads: threads, sourceAddresses: self.fleet.sourceAddresses,
                rampSeconds: rampSeconds, rampCPUSeconds: rampCPUSeconds, tls: server.clientTLS != nil, connectionsHeld: health.connections ?? -1, disconnects: counters.disconnects,
                firstDisconnect: counters.firstDisconnect,
                heartbeatsPerSecond: Double(acks) / holdSeconds, expectedHeartbeatsPerSecond: Double(self.fleet.agents) / self.heartbeat,
                falseDown: down.count, firstFalseDown: down.first,
                serverCPUPercentOfOneCore: ((after?.cpuSeconds ?? 0) - (before?.cpuSeconds ?? 0)) / holdSeconds * 100,
                serverIdleRSSMebibytes: Double(idleRSS) / 1_048_576,
                serverRSSMebibytes: Double(after?.residentBytes ?? 0) / 1_048_576,
                serverPeakRSSMebibytes: Double(after?.peakResidentBytes ?? 0) / 1_048_576,
                loadAtStart: loadAtStart, loadAtEnd: .now())
            await http.close()
        } catch {
            await Self.tearDown(fleet, server, group)
            throw error
        }
        progress("closing \(self.fleet.agents) connections, stopping the server")
        await Self.tearDown(fleet, server, group)
        try self.common.print(report) { $0.table() }
        if report.falseDown > 0 || report.disconnects > 0 {
            throw BenchmarkError("\(report.falseDown) false DOWN event(s) and \(report.disconnects) dropped connection(s) among healthy agents")
        }
    }
}

extension ConnectionsBenchmark {
    /// Closes the fleet's connections, stops the server and the load generator's threads (after a
    /// run, and after a failure).
    static func tearDown(_ fleet: AgentFleet, _ server: ServerProcess, _ group: MultiThreadedEventLoopGroup) async {
        await fleet.closeAll()
        _ = await server.stop()
        try? await group.shutdownGracefully()
    }
}

struct ConnectionsReport: Codable, Sendable {
    var date: String
    var agents: Int
    var heartbeatSeconds: Double
    var holdSeconds: Double
    var openFileLimit: UInt64
    var loadGeneratorThreads: Int
    var sourceAddresses: Int
    var rampSeconds: Double
    /// Server CPU time spent while the fleet connected (every agent at once when `--connect-batch` ≥ `--agents`).
    var rampCPUSeconds: Double
    var tls: Bool
    /// As the server counts them at the end of the hold.
    var connectionsHeld: Int
    var disconnects: Int
    var firstDisconnect: String?
    var heartbeatsPerSecond: Double
    var expectedHeartbeatsPerSecond: Double
    var falseDown: Int
    var firstFalseDown: String?
    var serverCPUPercentOfOneCore: Double
    var serverIdleRSSMebibytes: Double
    var serverRSSMebibytes: Double
    var serverPeakRSSMebibytes: Double
    var loadAtStart: MachineLoad
    var loadAtEnd: MachineLoad

    func table() -> String {
        var printer = ReportPrinter()
        printer.section("Connections: \(Format.number(self.agents)) agents at \(self.heartbeatSeconds) s heartbeats, held \(String(format: "%.0f", self.holdSeconds)) s")
        printer.row("transport", self.tls ? "TLS 1.3 (CA pinned)" : "plaintext")
        printer.row("ramp", String(format: "%.1f s (%@ agents/s), %d source address(es)", self.rampSeconds, Format.number(Double(self.agents) / max(self.rampSeconds, 0.001)), self.sourceAddresses))
        printer.row("server CPU during the ramp", String(format: "%.2f s (%.0f %% of a core)", self.rampCPUSeconds, 100 * self.rampCPUSeconds / max(self.rampSeconds, 0.001)))
        printer.row("connections held (server)", Format.number(self.connectionsHeld))
        printer.row("dropped connections", "\(self.disconnects)" + (self.firstDisconnect.map { " (first: \($0))" } ?? ""))
        printer.row("heartbeats/s", "\(Format.number(self.heartbeatsPerSecond)) (expected \(Format.number(self.expectedHeartbeatsPerSecond)))")
        printer.row("false DOWN", "\(self.falseDown)" + (self.firstFalseDown.map { " (first: \($0))" } ?? ""))
        printer.row("server CPU during the hold", String(format: "%.1f %% of one core", self.serverCPUPercentOfOneCore))
        printer.row("server RSS idle / held / peak", "\(Format.number(self.serverIdleRSSMebibytes, 1)) / \(Format.number(self.serverRSSMebibytes, 1)) / \(Format.number(self.serverPeakRSSMebibytes, 1)) MiB")
        printer.row("open-file limit", "\(self.openFileLimit)")
        printer.row("machine load at start / end", String(format: "%.2f / %.2f (%d cores)", self.loadAtStart.loadAverage1m, self.loadAtEnd.loadAverage1m, self.loadAtStart.cores))
        return printer.render()
    }
}
