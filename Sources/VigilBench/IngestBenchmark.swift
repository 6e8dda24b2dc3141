import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `vigil-bench ingest`: a live fleet — heartbeats and metrics at an agent's cadence — and what it
/// costs the server: samples and values stored per second, ingest latency, CPU, memory, false DOWN.
struct IngestBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "N agents at heartbeat H and metrics every M; report samples/s and values/s stored, ingest latency p50/p99/p99.9, server CPU and RSS, false DOWN.",
        discussion: """
        Each agent registers, heartbeats at the server's interval (`--heartbeat`) and writes a METRICS \
        frame stamped with the current time just before every (M/H)-th heartbeat (agents spread over \
        the ticks). After one metrics interval to settle, the fleet is measured for `--hold` seconds.

        Stored rates: samples = change of (accepted - pending) in GET /api/health (taken off the \
        queue by the batched writer, which writes them in one transaction); values = change of \
        raw.values in GET /api/storage. Latency, per sample: from writing the METRICS frame to \
        reading the acknowledgement of the heartbeat written right after it on the same connection. \
        The server handles a connection's frames in order and takes a sample (visible in \
        GET /api/servers/{h}/current, queued for the writer) before it reads the next frame, so this \
        is send → visible plus the way back: an upper bound, on one clock. Durability follows within \
        metrics.flush_interval (the `max pending` row shows the writer keeping up). Exit status 1 on \
        a false DOWN, a refused sample or a dropped connection.
        """
    )

    @OptionGroup var fleet: FleetOptions

    @Option(help: "Heartbeat interval, seconds.")
    var heartbeat = 1.0

    @Option(help: "Seconds between one agent's samples (a whole number of heartbeat intervals).")
    var metricsEvery = 5.0

    @Option(help: "Seconds to measure once the fleet is connected and settled.")
    var hold = 30

    @Option(help: "Alert rules evaluated on every sample (thresholds on the simulated series; none fire). 0: no rules at all.")
    var rules = 10

    @OptionGroup var common: CommonOptions

    private var heartbeatsPerSample: Int { Int((self.metricsEvery / self.heartbeat).rounded()) }

    func validate() throws {
        guard self.heartbeat >= 0.1, self.heartbeat <= 3600 else { throw ValidationError("--heartbeat must be in 0.1...3600 seconds") }
        guard self.heartbeatsPerSample >= 1, abs(Double(self.heartbeatsPerSample) * self.heartbeat - self.metricsEvery) < 0.001 else {
            throw ValidationError("--metrics-every must be a whole number (1 or more) of --heartbeat intervals")
        }
        guard self.hold >= 1, self.hold <= 86_400 else { throw ValidationError("--hold must be in 1...86400 seconds") }
        guard (0...AlertingRules.catalogue.count).contains(self.rules) else { throw ValidationError("--rules must be in 0...\(AlertingRules.catalogue.count)") }
    }

    func run() async throws {
        Cleanup.shared.installSignalHandlers()
        let progress = self.common.progressPrinter()
        let openFiles = try self.fleet.raiseFileLimit()
        let series = HostSimulator.seriesPerSample
        let loadAtStart = MachineLoad.now()
        let rulesFile = try AlertingRules.write(count: self.rules)
        defer { try? FileManager.default.removeItem(atPath: rulesFile) }
        let server = try await self.fleet.startServer(self.common, heartbeat: self.heartbeat, environment: [
            "VIGIL_ALERTING_FILE": rulesFile, "VIGIL_ALERTING_DEFAULT_RULES": "false",
        ])
        defer { server.removeDirectory() }
        progress("server pid \(server.pid): agents on \(server.agentPort); open-file limit \(openFiles); \(series) series per sample")
        let threads = self.fleet.loadGeneratorThreads
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let latency = LatencyRecorder()
        let fleet = AgentFleet(group: group, port: server.agentPort, connectionsPerSource: self.fleet.perSource,
                               live: LiveMetrics(everyHeartbeats: self.heartbeatsPerSample, latency: latency), tls: server.clientTLS)
        let report: IngestReport
        do {
            let ramp = Stopwatch()
            let startMs = Int64(Date().timeIntervalSince1970 * 1000)
            let hosts = (0..<self.fleet.agents).map { (index: $0, hostname: String(format: "ingest-%07d", $0), startMs: startMs) }
            _ = try await fleet.connect(hosts, batch: self.fleet.connectBatch, timeout: .seconds(60))
            let rampSeconds = ramp.seconds
            progress("\(self.fleet.agents) agents connected in \(String(format: "%.1f", rampSeconds)) s; settling one metrics interval, then measuring \(self.hold) s")
            try await Task.sleep(for: .seconds(self.metricsEvery + self.heartbeat))
            let http = try await HTTPClient.connect(group: group, port: server.httpPort)
            let api = VigilAPI(client: http)
            let firstEventID = try await api.newestEventID()
            let healthBefore = try await api.health()
            let storageBefore = try await api.storage()
            let before = server.stats
            let ownBefore = ProcessStats.current()
            let acksBefore = fleet.counters.snapshot.heartbeatAcks
            let evaluationBefore = try await api.evaluation()
            latency.reset()
            let hold = Stopwatch()
            // The writer's backlog, once a second: it stays small while the writer keeps up.
            var maxPending = healthBefore.metrics.pending
            while hold.seconds < Double(self.hold) {
                try await Task.sleep(for: .seconds(min(1, Double(self.hold) - hold.seconds)))
                try server.checkAlive()
                maxPending = max(maxPending, try await api.health().metrics.pending)
            }
            let holdSeconds = hold.seconds
            let after = server.stats
            let ownAfter = ProcessStats.current()
            let acks = fleet.counters.snapshot.heartbeatAcks - acksBefore
            let latencies = latency.percentiles
            let healthAfter = try await api.health()
            let evaluationAfter = try await api.evaluation()
            let storageAfter = try await api.storage()
            let down = try await api.downEvents(after: firstEventID).sorted { $0.value.id < $1.value.id }.map { "\($0.key): \($0.value.reason)" }
            await http.close()
            let written = { (health: VigilAPI.Health) in health.metrics.accepted - health.metrics.pending }
            let counters = fleet.counters.snapshot
            let samplesPerSecond = Double(written(healthAfter) - written(healthBefore)) / holdSeconds
            report = IngestReport(
                date: Date().formatted(.iso8601), agents: self.fleet.agents, heartbeatSeconds: self.heartbeat, metricsSeconds: self.metricsEvery,
                holdSeconds: holdSeconds, seriesPerSample: series, openFileLimit: openFiles, loadGeneratorThreads: threads,
                rampSeconds: rampSeconds, connectionsHeld: healthAfter.connections ?? -1,
                heartbeatsPerSecond: Double(acks) / holdSeconds, expectedHeartbeatsPerSecond: Double(self.fleet.agents) / self.heartbeat,
                samplesStoredPerSecond: samplesPerSecond, expectedSamplesPerSecond: Double(self.fleet.agents) / self.metricsEvery,
                valuesStoredPerSecond: Double(storageAfter.raw.values - storageBefore.raw.values) / holdSeconds,
                maxPendingSamples: maxPending, latency: latencies,
                refused: healthAfter.metrics.refusedTotal + counters.refusals.values.reduce(0, +), firstRefusal: counters.firstRefusal,
                disconnects: counters.disconnects, firstDisconnect: counters.firstDisconnect,
                falseDown: down.count, firstFalseDown: down.first,
                serverCPUPercentOfOneCore: ((after?.cpuSeconds ?? 0) - (before?.cpuSeconds ?? 0)) / holdSeconds * 100,
                loadGeneratorCPUPercentOfOneCore: (ownAfter.cpuSeconds - ownBefore.cpuSeconds) / holdSeconds * 100,
                serverRSSMebibytes: Double(after?.residentBytes ?? 0) / 1_048_576,
                serverPeakRSSMebibytes: Double(after?.peakResidentBytes ?? 0) / 1_048_576,
                alertRules: evaluationAfter.rules, alertConditions: evaluationAfter.conditions,
                alertSamplesPerSecond: Double(evaluationAfter.samples - evaluationBefore.samples) / holdSeconds,
                alertEvaluationCPUPercentOfOneCore: (evaluationAfter.seconds - evaluationBefore.seconds) / holdSeconds * 100,
                loadAtStart: loadAtStart, loadAtEnd: .now())
        } catch {
            await ConnectionsBenchmark.tearDown(fleet, server, group)
            throw error
        }
        progress("closing \(self.fleet.agents) connections, stopping the server")
        await ConnectionsBenchmark.tearDown(fleet, server, group)
        try self.common.print(report) { $0.table() }
        if report.falseDown > 0 || report.disconnects > 0 || report.refused > 0 {
            throw BenchmarkError("\(report.falseDown) false DOWN, \(report.disconnects) dropped connection(s), \(report.refused) refused sample(s) among healthy agents")
        }
    }
}

struct IngestReport: Codable, Sendable {
    var date: String
    var agents: Int
    var heartbeatSeconds: Double
    var metricsSeconds: Double
    var holdSeconds: Double
    var seriesPerSample: Int
    var openFileLimit: UInt64
    var loadGeneratorThreads: Int
    var rampSeconds: Double
    var connectionsHeld: Int
    var heartbeatsPerSecond: Double
    var expectedHeartbeatsPerSecond: Double
    /// Taken off the queue by the writer (accepted - pending), per second of the hold.
    var samplesStoredPerSecond: Double
    var expectedSamplesPerSecond: Double
    /// Growth of `raw.values` in /api/storage per second of the hold.
    var valuesStoredPerSecond: Double
    var maxPendingSamples: Int
    /// METRICS write → acknowledgement of the next heartbeat (see the command's discussion).
    var latency: LatencyPercentiles
    var refused: Int
    var firstRefusal: String?
    var disconnects: Int
    var firstDisconnect: String?
    var falseDown: Int
    var firstFalseDown: String?
    var serverCPUPercentOfOneCore: Double
    var loadGeneratorCPUPercentOfOneCore: Double
    var serverRSSMebibytes: Double
    var serverPeakRSSMebibytes: Double
    /// Rules in force, (host × rule × series) conditions tracked, samples evaluated per second,
    /// and the time spent evaluating them (measured inside the server, around each sample).
    var alertRules: Int
    var alertConditions: Int
    var alertSamplesPerSecond: Double
    var alertEvaluationCPUPercentOfOneCore: Double
    var loadAtStart: MachineLoad
    var loadAtEnd: MachineLoad

    func table() -> String {
        var printer = ReportPrinter()
        printer.section("Ingest: \(Format.number(self.agents)) agents, heartbeats every \(self.heartbeatSeconds) s, metrics every \(self.metricsSeconds) s, measured \(String(format: "%.0f", self.holdSeconds)) s")
        printer.row("ramp", String(format: "%.1f s; %@ connections held (server)", self.rampSeconds, Format.number(self.connectionsHeld)))
        printer.row("heartbeats/s", "\(Format.number(self.heartbeatsPerSecond)) (expected \(Format.number(self.expectedHeartbeatsPerSecond)))")
        printer.row("samples/s stored", "\(Format.number(self.samplesStoredPerSecond)) (expected \(Format.number(self.expectedSamplesPerSecond)))")
        printer.row("values/s stored", "\(Format.number(self.valuesStoredPerSecond)) (\(self.seriesPerSample) series per sample)")
        printer.row("max pending samples", Format.number(self.maxPendingSamples))
        printer.row("ingest latency (send → visible + ack)", self.latency.summary)
        printer.row("refused / dropped connections", "\(self.refused) / \(self.disconnects)" + ((self.firstRefusal ?? self.firstDisconnect).map { " (first: \($0))" } ?? ""))
        printer.row("false DOWN", "\(self.falseDown)" + (self.firstFalseDown.map { " (first: \($0))" } ?? ""))
        printer.row("server CPU", String(format: "%.1f %% of one core", self.serverCPUPercentOfOneCore))
        printer.row("load generator CPU", String(format: "%.1f %% of one core (%d threads)", self.loadGeneratorCPUPercentOfOneCore, self.loadGeneratorThreads))
        printer.row("alert evaluation", String(format: "%.2f %% of one core: %d rules, %@ conditions, %@ samples/s evaluated",
                                               self.alertEvaluationCPUPercentOfOneCore, self.alertRules, Format.number(self.alertConditions), Format.number(self.alertSamplesPerSecond)))
        printer.row("server RSS / peak", "\(Format.number(self.serverRSSMebibytes, 1)) / \(Format.number(self.serverPeakRSSMebibytes, 1)) MiB")
        printer.row("open-file limit", "\(self.openFileLimit)")
        printer.row("machine load at start / end", String(format: "%.2f / %.2f (%d cores)", self.loadAtStart.loadAverage1m, self.loadAtEnd.loadAverage1m, self.loadAtStart.cores))
        return printer.render()
    }
}
