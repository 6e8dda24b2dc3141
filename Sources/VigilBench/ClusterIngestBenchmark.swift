import ArgumentParser
import Foundation
import NIOPosix
import VigilLocalPostgres

/// `vigil-bench cluster-ingest`: one live fleet, first spread over S servers sharing one PostgreSQL,
/// then on one server with the embedded SQLite store, in the same run: what scaling out buys (or
/// costs) for metrics ingest on this machine.
struct ClusterIngestBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-ingest",
        abstract: "The same live fleet against S servers on one PostgreSQL, then one server on SQLite, in one run: samples and values stored per second, CPU.",
        discussion: """
        Phase 1 starts a real PostgreSQL (initdb in a temporary directory, fsync on) and S \
        `vigil server`s on it (store.backend postgres); the N simulated agents of `vigil-bench ingest` \
        (heartbeats and METRICS at an agent's cadence) are dealt round-robin over the servers. After \
        one metrics interval to settle, it measures for --hold seconds: samples stored = change of \
        (accepted - pending) in each server's GET /api/health, summed; values = samples × the series \
        per sample; CPU of the servers and of PostgreSQL (every process of its data directory). Phase \
        2 does the same with one server on SQLite (its data directory, fsync'd group commits), the \
        same agents. Exit status 1 when a phase refused a sample or dropped a connection.
        """
    )

    @Option(help: "Servers sharing PostgreSQL in the first phase.")
    var servers = 3

    @OptionGroup var fleet: FleetOptions

    @Option(help: "Heartbeat interval, seconds.")
    var heartbeat = 1.0

    @Option(help: "Seconds between one agent's samples (a whole number of heartbeat intervals).")
    var metricsEvery = 1.0

    @Option(help: "Seconds measured per phase, once the fleet is connected and settled.")
    var hold = 20

    @Option(help: "Seconds to wait after the fleet connected before measuring (the writers drain what connecting queued).")
    var settle = 10

    @OptionGroup var common: CommonOptions

    private var heartbeatsPerSample: Int { Int((self.metricsEvery / self.heartbeat).rounded()) }

    func validate() throws {
        guard (2...9).contains(self.servers) else { throw ValidationError("--servers must be in 2...9") }
        guard self.heartbeat >= 0.1, self.heartbeatsPerSample >= 1, abs(Double(self.heartbeatsPerSample) * self.heartbeat - self.metricsEvery) < 0.001 else {
            throw ValidationError("--heartbeat at least 0.1 s; --metrics-every a whole number (1 or more) of --heartbeat intervals")
        }
        guard (1...3600).contains(self.hold) else { throw ValidationError("--hold must be in 1...3600 seconds") }
    }

    struct Phase: Codable {
        var store: String
        var servers: Int
        var samplesStoredPerSecond: Double
        var valuesStoredPerSecond: Double
        var expectedSamplesPerSecond: Double
        /// Summed over the servers, in % of one core.
        var serversCPUPercent: Double
        /// PostgreSQL's processes, in % of one core (0 on SQLite).
        var databaseCPUPercent: Double
        /// Servers and database together, in cores, per 1,000 samples stored a second.
        var coresPerThousandSamples: Double { self.samplesStoredPerSecond > 0 ? (self.serversCPUPercent + self.databaseCPUPercent) / 100 / (self.samplesStoredPerSecond / 1000) : 0 }
        var refused: Int
        var disconnects: Int

        enum CodingKeys: String, CodingKey {
            case store, servers, refused, disconnects
            case samplesStoredPerSecond = "samples_stored_per_second"
            case valuesStoredPerSecond = "values_stored_per_second"
            case expectedSamplesPerSecond = "expected_samples_per_second"
            case serversCPUPercent = "servers_cpu_percent"
            case databaseCPUPercent = "database_cpu_percent"
        }
    }

    struct Report: Codable {
        var date: String
        var agents: Int
        var holdSeconds: Int
        var seriesPerSample: Int
        var phases: [Phase]
        /// Values stored per second, the PostgreSQL cluster's over the SQLite server's.
        var ratio: Double
        var loadAtStart: MachineLoad
        var loadAtEnd: MachineLoad

        enum CodingKeys: String, CodingKey {
            case date, agents, phases, ratio
            case holdSeconds = "hold_seconds"
            case seriesPerSample = "series_per_sample"
            case loadAtStart = "load_at_start"
            case loadAtEnd = "load_at_end"
        }
    }

    func run() async throws {
        Cleanup.shared.installSignalHandlers()
        let progress = self.common.progressPrinter()
        _ = try self.fleet.raiseFileLimit()
        let loadAtStart = MachineLoad.now()
        let postgres = try await LocalPostgres.start(durable: true, maxConnections: 100 + self.servers * 20)
        Cleanup.shared.add(directory: postgres.directory.path)
        let clustered: Phase
        do {
            try await postgres.createDatabase("vigil")
            var servers: [ServerProcess] = []
            for index in 0..<self.servers {
                servers.append(try await ServerProcess.start(executable: self.common.executable, environment: self.environment([
                    "VIGIL_STORE_BACKEND": "postgres",
                    "VIGIL_STORE_POSTGRES_URL": postgres.url(database: "vigil") + "?sslmode=disable",
                    "VIGIL_CLUSTER_MEMBER_ID": "member-\(index)",
                ])))
            }
            progress("\(self.servers) servers on one PostgreSQL; \(self.fleet.agents) agents")
            clustered = try await self.measure(store: "postgres", servers: servers, database: postgres.directory.path, progress: progress)
        } catch {
            await postgres.stop()
            throw error
        }
        await postgres.stop()
        let server = try await ServerProcess.start(executable: self.common.executable, environment: self.environment([:]))
        progress("one server on SQLite; \(self.fleet.agents) agents")
        let single = try await self.measure(store: "sqlite", servers: [server], database: nil, progress: progress)
        let report = Report(
            date: Date().formatted(.iso8601), agents: self.fleet.agents, holdSeconds: self.hold, seriesPerSample: HostSimulator.seriesPerSample,
            phases: [clustered, single], ratio: single.valuesStoredPerSecond > 0 ? clustered.valuesStoredPerSecond / single.valuesStoredPerSecond : 0,
            loadAtStart: loadAtStart, loadAtEnd: .now())
        try self.common.print(report, table: Self.table)
        if report.phases.contains(where: { $0.refused > 0 || $0.disconnects > 0 }) {
            throw BenchmarkError("a phase refused samples or dropped connections")
        }
    }

    private func environment(_ extra: [String: String]) -> [String: String] {
        [
            "VIGIL_AGENTS_OPEN_ENROLLMENT": "true",
            "VIGIL_HEARTBEAT_INTERVAL": "\(Int((self.heartbeat * 1000).rounded()))ms",
            "VIGIL_LOG_LEVEL": "warning",
            "VIGIL_ALERTING_DEFAULT_RULES": "false",
        ].merging(extra) { $1 }
    }

    /// Connects the fleet dealt over `servers`, settles, measures the hold, and stops the servers.
    private func measure(store: String, servers: [ServerProcess], database: String?, progress: @Sendable (String) -> Void) async throws -> Phase {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: self.fleet.loadGeneratorThreads)
        let latency = LatencyRecorder()
        let fleets = servers.map {
            AgentFleet(group: group, port: $0.agentPort, connectionsPerSource: self.fleet.perSource,
                       live: LiveMetrics(everyHeartbeats: self.heartbeatsPerSample, latency: latency), tls: $0.clientTLS)
        }
        var apis: [VigilAPI] = []
        /// Closes the fleet and the servers, after the phase or after a failure.
        func tearDown() async {
            for api in apis { await api.client.close() }
            for (fleet, server) in zip(fleets, servers) {
                await fleet.closeAll()
                _ = await server.stop()
                server.removeDirectory()
            }
            try? await group.shutdownGracefully()
        }
        do {
            let startMs = Int64(Date().timeIntervalSince1970 * 1000)
            for (index, fleet) in fleets.enumerated() {
                let hosts = stride(from: index, to: self.fleet.agents, by: fleets.count).map { (index: $0, hostname: String(format: "ingest-%07d", $0), startMs: startMs) }
                _ = try await fleet.connect(hosts, batch: self.fleet.connectBatch, timeout: .seconds(120))
            }
            try await Task.sleep(for: .seconds(max(Double(self.settle), self.metricsEvery + self.heartbeat)))
            for server in servers { apis.append(VigilAPI(client: try await HTTPClient.connect(group: group, port: server.httpPort))) }
            let written = { (health: VigilAPI.Health) in health.metrics.accepted - health.metrics.pending }
            var before = 0
            for api in apis { before += written(try await api.health()) }
            let cpuBefore = servers.compactMap(\.stats).map(\.cpuSeconds).reduce(0, +)
            let databaseBefore = database.map(Self.databaseCPUSeconds) ?? 0
            let hold = Stopwatch()
            try await Task.sleep(for: .seconds(self.hold))
            let seconds = hold.seconds
            var after = 0
            var refused = 0
            for api in apis {
                let health = try await api.health()
                after += written(health)
                refused += health.metrics.refusedTotal
            }
            let cpuAfter = servers.compactMap(\.stats).map(\.cpuSeconds).reduce(0, +)
            let databaseAfter = database.map(Self.databaseCPUSeconds) ?? 0
            let samples = Double(after - before) / seconds
            let phase = Phase(
                store: store, servers: servers.count, samplesStoredPerSecond: samples,
                valuesStoredPerSecond: samples * Double(HostSimulator.seriesPerSample),
                expectedSamplesPerSecond: Double(self.fleet.agents) / self.metricsEvery,
                serversCPUPercent: (cpuAfter - cpuBefore) / seconds * 100, databaseCPUPercent: (databaseAfter - databaseBefore) / seconds * 100,
                refused: refused + fleets.map { $0.counters.snapshot.refusals.values.reduce(0, +) }.reduce(0, +),
                disconnects: fleets.map { $0.counters.snapshot.disconnects }.reduce(0, +))
            progress(String(format: "%@: %.0f samples/s stored (expected %.0f), servers %.0f %% and database %.0f %% of a core",
                            store, phase.samplesStoredPerSecond, phase.expectedSamplesPerSecond, phase.serversCPUPercent, phase.databaseCPUPercent))
            await tearDown()
            return phase
        } catch {
            await tearDown()
            throw error
        }
    }

    /// CPU seconds of PostgreSQL now: the postmaster (its command line names the data directory)
    /// and its live children, the backends serving the servers' pools and the background writers.
    private static func databaseCPUSeconds(_ directory: String) -> Double {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap(Int32.init) ?? []
        let postmasters = Set(pids.filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.contains(directory) ?? false
        })
        return pids.filter { postmasters.contains($0) || Self.parent(of: $0).map(postmasters.contains) == true }
            .compactMap { ProcessStats.read(pid: $0)?.cpuSeconds }
            .reduce(0, +)
    }

    /// The parent's pid, from /proc/<pid>/stat (the field after the state, after the command in parentheses).
    private static func parent(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    static func table(_ report: Report) -> String {
        var lines = ["store      servers  samples/s  values/s      expected/s  servers CPU  database CPU  cores per 1,000 samples/s"]
        for phase in report.phases {
            lines.append(String(format: "%-9@  %7d  %9.0f  %12.0f  %10.0f  %9.0f %%  %10.0f %%  %8.2f", phase.store, phase.servers, phase.samplesStoredPerSecond,
                                phase.valuesStoredPerSecond, phase.expectedSamplesPerSecond, phase.serversCPUPercent, phase.databaseCPUPercent, phase.coresPerThousandSamples))
        }
        lines.append(String(format: "%d agents, %d series per sample, %d s per phase: the PostgreSQL cluster stores %.2f× the SQLite server's values/s; load %.2f → %.2f",
                            report.agents, report.seriesPerSample, report.holdSeconds, report.ratio, report.loadAtStart.loadAverage1m, report.loadAtEnd.loadAverage1m))
        return lines.joined(separator: "\n")
    }
}
