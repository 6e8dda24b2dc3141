import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import VigilMetrics
import VigilProtocol

/// `vigil-bench history`: metrics ingest and history queries at fleet size (issue 3).
///
/// Ingests backfilled samples from thousands of simulated agents into a real `vigil server` and
/// reports samples and values per second, bytes per stored value, and the latency of
/// `GET /api/servers` and of `/history` queries at that size.
struct HistoryBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Metrics ingest from N simulated agents, storage size, and /api/servers and /history latency.",
        discussion: """
        Starts `vigil server` in a temporary data directory (deleted afterwards), connects one TCP \
        connection per simulated host using the agent protocol, sends each host's samples (timestamps \
        backfilled `--interval` seconds apart, ending now) in waves with at most `--window` samples \
        not yet written, and waits until the server's queue is empty and /api/storage counts the \
        values. Then `--deep-hosts` hosts send 24 h of samples each, and the query latencies are \
        measured. Progress goes to standard error, the figures to standard output. A refused sample, \
        a dropped connection or a server failure stops the run (exit status 1); samples accepted but \
        not stored are reported with the figures, and the exit status is 1 too. Last, unless \
        `--store-hosts 0`, the same simulated samples go straight into both metrics stores in this \
        process, SQLite and PostgreSQL (a throwaway server started with fsync on; skipped, saying so, \
        when PostgreSQL is not installed), for ingest rates and query latency side by side; \
        `--stores-only` runs that part alone.
        """
    )

    @Option(help: "Simulated hosts in the fleet.")
    var hosts = 10_000

    @Option(help: "Samples each fleet host sends.")
    var samples = 60

    @Option(help: "Extra hosts that each send 24 h of samples (for the 24 h /history query).")
    var deepHosts = 2

    @Option(help: "Seconds between a host's samples.")
    var interval = 5

    @Option(help: "The vigil executable (default: `vigil` next to this executable).")
    var vigil: String?

    @Option(help: "Agents connecting at once.")
    var connectBatch = 500

    @Option(help: "Samples sent but not yet written, at most (the server refuses beyond metrics.max_pending, 200,000).")
    var window = 100_000

    @Option(help: "Timed requests per query, after the warm-up.")
    var requests = 200

    @Option(help: "Untimed warm-up requests per query.")
    var warmup = 10

    @Option(help: "Seconds the ingest phases may take in all.")
    var timeout = 1800

    @Option(help: "Event loop threads of the load generator (default: one per core).")
    var threads: Int?

    @Option(help: "Round the simulated *_per_sec rates to this many decimals (default: full precision, as the collectors send them); shows what rounding would save in storage.")
    var rateDecimals: Int?

    @Option(help: "Move the server's data directory here at the end instead of deleting it (for inspection).")
    var keepData: String?

    @Option(help: "Hosts whose samples go straight into both metrics stores in this process, SQLite and PostgreSQL (started with fsync on); 0 skips the store comparison.")
    var storeHosts = 1000

    @Option(help: "Samples per host in the store comparison.")
    var storeSamples = 120

    @Option(help: "Samples per append in the store comparison (a batch of the server's history writer; metrics.max_batch is 5000).")
    var storeBatch = 1000

    @Flag(help: "Only the store comparison: no server, no agents.")
    var storesOnly = false

    @Flag(help: "Print the figures as JSON.")
    var json = false

    @Flag(help: "No progress lines on standard error.")
    var quiet = false

    func validate() throws {
        guard self.hosts >= 1, self.hosts <= 1_000_000 else { throw ValidationError("--hosts must be in 1...1000000") }
        guard self.samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard self.deepHosts >= 0, self.deepHosts <= 100 else { throw ValidationError("--deep-hosts must be in 0...100") }
        guard self.interval >= 1, self.interval <= 3600 else { throw ValidationError("--interval must be in 1...3600 seconds") }
        guard self.requests >= 1, self.warmup >= 0 else { throw ValidationError("--requests must be at least 1 and --warmup at least 0") }
        guard self.rateDecimals.map({ (0...6).contains($0) }) ?? true else { throw ValidationError("--rate-decimals must be in 0...6") }
        guard self.window >= 1, self.connectBatch >= 1, self.timeout >= 1 else { throw ValidationError("--window, --connect-batch and --timeout must be positive") }
        guard self.storeHosts >= 0, self.storeSamples >= 1, self.storeBatch >= 1 else { throw ValidationError("--store-hosts must be at least 0, --store-samples and --store-batch at least 1") }
        guard !self.storesOnly || self.storeHosts > 0 else { throw ValidationError("--stores-only needs --store-hosts above 0") }
    }

    /// The in-process comparison of the two metrics stores, nil when `--store-hosts 0`.
    func storeComparison() async throws -> StoreComparison.Report? {
        guard self.storeHosts > 0 else { return nil }
        let comparison = StoreComparison(hosts: self.storeHosts, samplesPerHost: self.storeSamples, interval: self.interval, batch: self.storeBatch, requests: self.requests)
        let started = ContinuousClock.now
        return try await comparison.run { message in
            guard !self.quiet else { return }
            let elapsed = StoreComparison.seconds(ContinuousClock.now - started)
            FileHandle.standardError.write(Data((String(format: "[%7.1f s] ", elapsed) + message + "\n").utf8))
        }
    }

    func run() async throws {
        Cleanup.shared.installSignalHandlers()
        if self.storesOnly {
            let stores = try await self.storeComparison()!
            print(self.json ? try ReportPrinter.json(stores) : stores.table())
            return
        }
        var report: HistoryReport
        do {
            report = try await HistoryRun(options: self).run()
            report.stores = try await self.storeComparison()
        } catch {
            // Interrupted: the signal handler is stopping the server and will exit; do not race it.
            if Cleanup.shared.interrupted { try? await Task.sleep(for: .seconds(60)) }
            throw error
        }
        print(self.json ? try ReportPrinter.json(report) : report.table())
        let lost = report.fleet.samplesNotStored + (report.deep?.samplesNotStored ?? 0)
        if lost > 0 {
            throw BenchmarkError("\(lost) sample(s) were accepted by the server (counted in /api/health accepted, never refused) but are not in the history store")
        }
    }
}

/// The figures of one `history` run.
struct HistoryReport: Codable, Sendable {
    struct Setup: Codable, Sendable {
        var date: String
        var hosts: Int
        var samplesPerHost: Int
        var deepHosts: Int
        var deepSamplesPerHost: Int
        var intervalSeconds: Int
        var seriesPerSample: Int
        var frameBytes: Int
        var window: Int
        var rateDecimals: Int?
        var openFileLimit: UInt64
        var loadGeneratorThreads: Int
        var loadAtStart: MachineLoad
        var loadAtEnd: MachineLoad?
    }

    /// Cost of producing one METRICS frame in the load generator.
    struct Generator: Codable, Sendable {
        var directMicrosecondsPerSample: Double
        var codableMicrosecondsPerSample: Double
    }

    struct Connect: Codable, Sendable {
        var agents: Int
        var seconds: Double
        var perSecond: Double
        var serverRSSMebibytesBefore: Double
        var serverRSSMebibytesAfter: Double
    }

    struct Ingest: Codable, Sendable {
        var hosts: Int
        var samples: Int
        var values: Int
        var megabytesSent: Double
        /// Until the server had taken every sample and its queue was empty: the figure the rates use.
        var secondsUntilQueued: Double
        /// Until a read of /api/storage that started then counted the values (an upper bound).
        var secondsUntilStored: Double
        var samplesPerSecond: Double
        var valuesPerSecond: Double
        var serverCPUSeconds: Double
        var serverCPUPercentOfOneCore: Double
        var loadGeneratorCPUSeconds: Double
        var loadGeneratorCPUPercentOfOneCore: Double
        var serverRSSMebibytesAfter: Double
        var healthPolls: Int
        var refused: Int
        /// Accepted by the server (counted in `accepted`, never refused) but missing from `raw.values`.
        var samplesNotStored: Int
        var storedRawValues: Int64
    }

    struct Storage: Codable, Sendable {
        var rawValues: Int64
        var rawBytes: Int64
        var rawBlocks: Int64
        var minuteValues: Int64
        var minuteBytes: Int64
        var hourValues: Int64
        var hourBytes: Int64
        var fileBytes: Int64
        var bytesPerRawValue: Double
        var fileBytesPerRawValue: Double
        /// From the database file after the server stopped (nil if it could not be read).
        var breakdown: StoreInspector.Breakdown?
    }

    struct Server: Codable, Sendable {
        var peakRSSMebibytes: Double
        var rssMebibytesAtEnd: Double
        var threads: Int
        var shutdownSeconds: Double?
    }

    var setup: Setup
    var generator: Generator
    var connect: Connect
    var fleet: Ingest
    var deep: Ingest?
    var storage: Storage
    var latency: [String: LatencyFigures]
    var historyPoints: [String: Int]
    var server: Server
    /// The metrics stores measured in process, SQLite next to PostgreSQL (``StoreComparison``).
    var stores: StoreComparison.Report?
}

/// One run of the `history` scenario, start to clean-up.
struct HistoryRun {
    let options: HistoryBenchmark
    let started = Stopwatch()

    private func progress(_ message: String) {
        guard !self.options.quiet else { return }
        FileHandle.standardError.write(Data((String(format: "[%7.1f s] ", self.started.seconds) + message + "\n").utf8))
    }

    private var hostnameWidth: Int { max(5, String(self.options.hosts).count) }

    func fleetHostname(_ index: Int) -> String {
        let digits = String(index)
        return "bench-" + String(repeating: "0", count: max(0, self.hostnameWidth - digits.count)) + digits
    }

    func deepHostname(_ index: Int) -> String { "bench-deep-\(index)" }

    func run() async throws -> HistoryReport {
        let loadAtStart = MachineLoad.now()
        let openFiles = FileLimit.raiseToHardLimit()
        let sockets = self.options.hosts + self.options.deepHosts
        if openFiles < UInt64(sockets + 100) {
            self.progress("warning: the open-file limit is \(openFiles) (hard limit), below the \(sockets + 100) that \(sockets) agents need; connections will fail")
        } else {
            self.progress("open-file limit raised to \(openFiles) (the server inherits it)")
        }

        let check = try Self.checkGenerator()
        self.progress("generator: \(check.series) series per sample, \(check.frameBytes) bytes per frame; direct JSON \(String(format: "%.1f", check.generator.directMicrosecondsPerSample)) µs/sample, JSONEncoder \(String(format: "%.1f", check.generator.codableMicrosecondsPerSample)) µs/sample")

        let executable = self.options.vigil ?? ServerProcess.defaultExecutable()
        let server = try await ServerProcess.start(executable: executable, environment: [
            "VIGIL_AGENTS_OPEN_ENROLLMENT": "true",
            "VIGIL_HEARTBEAT_INTERVAL": "600s",
            "VIGIL_METRICS_RATE_LIMIT": "10000",
            "VIGIL_METRICS_RATE_BURST": "100000",  // the largest value metrics.rate_burst takes
            "VIGIL_LOG_LEVEL": "warning",
        ])
        self.progress("server pid \(server.pid): agents on \(server.agentPort), HTTP on \(server.httpPort), data in \(server.dataDirectory)")

        let threads = self.options.threads ?? System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let fleet = AgentFleet(group: group, port: server.agentPort, rateDecimals: self.options.rateDecimals)
        var partial: HistoryReport?
        var failure: (any Error)?
        do {
            partial = try await self.measure(server: server, group: group, fleet: fleet, check: check, openFiles: openFiles, threads: threads, loadAtStart: loadAtStart)
        } catch {
            failure = error
        }

        // Clean-up, also after a failure.
        self.progress("closing \(fleet.all.count) agent connections, stopping the server")
        await fleet.closeAll()
        let shutdown = await server.stop()
        var breakdown: StoreInspector.Breakdown?
        if failure == nil {
            do {
                breakdown = try StoreInspector.breakdown(dataDirectory: server.dataDirectory, deepHosts: self.options.deepHosts == 0 ? [] : (1...self.options.deepHosts).map(self.deepHostname))
            } catch {
                self.progress("warning: could not read metrics.sqlite after stop: \(error)")
            }
        } else {
            self.progress("server log (tail):\n" + ServerProcess.tail(of: server.logPath))
        }
        if let keep = self.options.keepData {
            do {
                try FileManager.default.moveItem(atPath: server.dataDirectory, toPath: keep)
                self.progress("data directory kept in \(keep)")
            } catch {
                self.progress("warning: could not move the data directory to \(keep): \(error)")
            }
        }
        server.removeDirectory()
        try? await group.shutdownGracefully()
        if let failure { throw failure }

        var report = partial!
        report.server.shutdownSeconds = shutdown
        report.storage.breakdown = breakdown
        report.setup.loadAtEnd = MachineLoad.now()
        self.progress("done")
        return report
    }

    // MARK: The measured part

    private func measure(server: ServerProcess, group: MultiThreadedEventLoopGroup, fleet: AgentFleet, check: GeneratorCheck,
                         openFiles: UInt64, threads: Int, loadAtStart: MachineLoad) async throws -> HistoryReport {
        let options = self.options
        let intervalMs = Int64(options.interval) * 1000
        let http = try await HTTPClient.connect(group: group, port: server.httpPort)
        let api = VigilAPI(client: http)
        let driver = IngestDriver(fleet: fleet, api: api, server: server, window: options.window, pollInterval: .milliseconds(100), timeout: .seconds(options.timeout))

        // Connect and register.
        let beforeConnect = server.stats
        let connectWatch = Stopwatch()
        let nowMs = Int64(Date().timeIntervalSince1970) * 1000
        let fleetStartMs = nowMs - Int64(options.samples) * intervalMs
        let fleetHosts = (1...options.hosts).map { (index: $0, hostname: self.fleetHostname($0), startMs: fleetStartMs) }
        let deepSamples = 86_400 / options.interval
        let deepStartMs = nowMs - Int64(deepSamples) * intervalMs
        let deepHosts = options.deepHosts == 0 ? [] : (1...options.deepHosts).map { (index: options.hosts + $0, hostname: self.deepHostname($0), startMs: deepStartMs) }
        self.progress("connecting \(fleetHosts.count + deepHosts.count) agents, \(options.connectBatch) at a time")
        let fleetAgents = try await fleet.connect(fleetHosts, batch: options.connectBatch, timeout: .seconds(60))
        let deepAgents = try await fleet.connect(deepHosts, batch: options.connectBatch, timeout: .seconds(60))
        let connectSeconds = connectWatch.seconds
        _ = try await waitFor("the server to count \(fleetAgents.count + deepAgents.count) connections", timeout: .seconds(60)) { () async throws -> Bool? in
            let health = try await api.health()
            return (health.connections ?? Int.max) >= fleetAgents.count + deepAgents.count ? true : nil
        }
        let afterConnect = server.stats
        self.progress("connected and registered in \(String(format: "%.1f", connectSeconds)) s; server RSS \(String(format: "%.0f", Double(afterConnect?.residentBytes ?? 0) / 1_048_576)) MiB")

        // Fleet ingest.
        let series = check.series
        self.progress("fleet: \(fleetAgents.count) hosts × \(options.samples) samples = \(Format.number(fleetAgents.count * options.samples)) samples")
        let fleetResult = try await self.phase(driver: driver, server: server, agents: fleetAgents, samples: options.samples,
                                               startMs: fleetStartMs, intervalMs: intervalMs, chunk: 1, series: series, storedBefore: 0)
        self.progress("fleet: \(Format.number(fleetResult.samplesPerSecond)) samples/s, \(Format.number(fleetResult.valuesPerSecond)) values/s, server CPU \(String(format: "%.0f", fleetResult.serverCPUPercentOfOneCore)) % of a core, RSS \(String(format: "%.0f", fleetResult.serverRSSMebibytesAfter)) MiB" + (fleetResult.samplesNotStored > 0 ? "; \(fleetResult.samplesNotStored) SAMPLES ACCEPTED BUT NOT STORED" : ""))

        // Deep hosts: a day each.
        var deepResult: HistoryReport.Ingest?
        if !deepAgents.isEmpty {
            self.progress("deep hosts: \(deepAgents.count) hosts × \(deepSamples) samples (24 h)")
            let chunk = max(1, 2_000 / deepAgents.count)
            let deep = try await self.phase(driver: driver, server: server, agents: deepAgents, samples: deepSamples,
                                            startMs: deepStartMs, intervalMs: intervalMs, chunk: chunk, series: series, storedBefore: fleetResult.storedRawValues)
            deepResult = deep
            self.progress("deep hosts: \(Format.number(deep.samplesPerSecond)) samples/s, \(Format.number(deep.valuesPerSecond)) values/s" + (deep.samplesNotStored > 0 ? "; \(deep.samplesNotStored) SAMPLES ACCEPTED BUT NOT STORED" : ""))
        }

        // Storage.
        let stored = try await api.storage()
        let expectedValues = deepResult?.storedRawValues ?? fleetResult.storedRawValues
        guard stored.raw.values == expectedValues else {
            throw BenchmarkError("/api/storage counts \(stored.raw.values) raw values at the end, \(expectedValues) after the ingest phases")
        }
        let storage = HistoryReport.Storage(
            rawValues: stored.raw.values, rawBytes: stored.raw.bytes, rawBlocks: stored.raw.blocks,
            minuteValues: stored.minute.values, minuteBytes: stored.minute.bytes, hourValues: stored.hour.values, hourBytes: stored.hour.bytes,
            fileBytes: stored.fileBytes,
            bytesPerRawValue: Double(stored.raw.bytes) / Double(max(1, stored.raw.values)),
            fileBytesPerRawValue: Double(stored.fileBytes) / Double(max(1, stored.raw.values)),
            breakdown: nil)
        self.progress("storage: \(String(format: "%.2f", storage.bytesPerRawValue)) bytes per raw value (API), files \(Format.mebibytes(stored.fileBytes))")

        // Query latency.
        var latency: [String: LatencyFigures] = [:]
        var points: [String: Int] = [:]
        let totalHosts = fleetAgents.count + deepAgents.count
        let timeout = Duration.seconds(60)
        self.progress("latency: GET /api/servers × \(options.warmup) + \(options.requests)")
        latency["servers"] = try await LatencyFigures.measure(http, path: "/api/servers", warmup: options.warmup, requests: options.requests, timeout: timeout) { answer in
            struct Host: Decodable { var hostname: String }
            let hosts = try JSONDecoder().decode([Host].self, from: answer.data)
            guard hosts.count == totalHosts else {
                throw BenchmarkError("/api/servers lists \(hosts.count) hosts, expected \(totalHosts)")
            }
        }
        let now = Int(Date().timeIntervalSince1970)
        var queries: [(key: String, path: String, resolution: String)] = []
        if let deep = deepAgents.first {
            queries.append(("history_24h_deep", "/api/servers/\(deep.hostname)/history?metric=cpu.percent&from=\(now - 86_400)&to=\(now)", "1m"))
            queries.append(("history_1h_raw_deep", "/api/servers/\(deep.hostname)/history?metric=cpu.percent&from=\(now - 3_600)&to=\(now)", "raw"))
        }
        if let first = fleetAgents.first {
            queries.append(("history_1h_raw_fleet", "/api/servers/\(first.hostname)/history?metric=cpu.percent&from=\(now - 3_600)&to=\(now)", "raw"))
        }
        for query in queries {
            self.progress("latency: GET \(query.path) × \(options.warmup) + \(options.requests)")
            latency[query.key] = try await LatencyFigures.measure(http, path: query.path, warmup: options.warmup, requests: options.requests, timeout: timeout) { answer in
                let history = try JSONDecoder().decode(VigilAPI.History.self, from: answer.data)
                guard history.resolution == query.resolution, !history.points.isEmpty else {
                    throw BenchmarkError("\(query.path): resolution \(history.resolution) with \(history.points.count) points, expected \(query.resolution) and some points")
                }
                points[query.key] = history.points.count
            }
        }

        await http.close()
        guard let end = server.stats else { throw BenchmarkError("cannot read the server's /proc entries") }
        try server.checkAlive()
        return HistoryReport(
            setup: .init(
                date: ISO8601DateFormatter().string(from: Date()), hosts: options.hosts, samplesPerHost: options.samples,
                deepHosts: options.deepHosts, deepSamplesPerHost: options.deepHosts == 0 ? 0 : deepSamples, intervalSeconds: options.interval,
                seriesPerSample: series, frameBytes: check.frameBytes, window: options.window, rateDecimals: options.rateDecimals, openFileLimit: openFiles,
                loadGeneratorThreads: threads, loadAtStart: loadAtStart, loadAtEnd: nil),
            generator: check.generator,
            connect: .init(agents: totalHosts, seconds: connectSeconds, perSecond: Double(totalHosts) / connectSeconds,
                           serverRSSMebibytesBefore: Double(beforeConnect?.residentBytes ?? 0) / 1_048_576,
                           serverRSSMebibytesAfter: Double(afterConnect?.residentBytes ?? 0) / 1_048_576),
            fleet: fleetResult, deep: deepResult, storage: storage, latency: latency, historyPoints: points,
            server: .init(peakRSSMebibytes: Double(end.peakResidentBytes) / 1_048_576, rssMebibytesAtEnd: Double(end.residentBytes) / 1_048_576,
                          threads: end.threads, shutdownSeconds: nil),
            stores: nil)
    }

    /// One ingest phase with the server's and the load generator's CPU time around it.
    private func phase(driver: IngestDriver, server: ServerProcess, agents: [SimulatedAgent], samples: Int,
                       startMs: Int64, intervalMs: Int64, chunk: Int, series: Int, storedBefore: Int64) async throws -> HistoryReport.Ingest {
        guard let before = server.stats else { throw BenchmarkError("cannot read the server's /proc entries") }
        let ownBefore = ProcessStats.current()
        let result = try await driver.run(agents: agents, samplesPerAgent: samples, startMs: startMs, intervalMs: intervalMs, chunk: chunk,
                                          seriesPerSample: series, storedBefore: storedBefore)
        // CPU and rates over the time until the server's queue was empty (see IngestDriver.Result),
        // not including the storage reads that confirm it.
        guard let after = result.serverAtQueued else { throw BenchmarkError("cannot read the server's /proc entries") }
        let ownAfter = result.loadGeneratorAtQueued
        let seconds = result.secondsUntilQueued
        let serverCPU = after.cpuSeconds - before.cpuSeconds
        let ownCPU = ownAfter.cpuSeconds - ownBefore.cpuSeconds
        return HistoryReport.Ingest(
            hosts: agents.count, samples: result.samples, values: result.samples * series,
            megabytesSent: Double(result.bytesSent) / 1_000_000,
            secondsUntilQueued: result.secondsUntilQueued, secondsUntilStored: result.secondsUntilStored,
            samplesPerSecond: Double(result.samples) / seconds, valuesPerSecond: Double(result.samples * series) / seconds,
            serverCPUSeconds: serverCPU, serverCPUPercentOfOneCore: serverCPU / seconds * 100,
            loadGeneratorCPUSeconds: ownCPU, loadGeneratorCPUPercentOfOneCore: ownCPU / seconds * 100,
            serverRSSMebibytesAfter: Double(after.residentBytes) / 1_048_576, healthPolls: result.healthPolls, refused: 0,
            samplesNotStored: result.samplesNotStored, storedRawValues: result.storedRawValues)
    }

    // MARK: Generator check

    struct GeneratorCheck {
        var series: Int
        var frameBytes: Int
        var generator: HistoryReport.Generator
    }

    /// Checks that the hand-written JSON decodes to exactly the document the same state gives
    /// through `Codable` (for a few hosts and samples), counts its series with the server's own
    /// `MetricsDocument.series()`, and times both ways of producing a frame.
    static func checkGenerator() throws -> GeneratorCheck {
        let startMs = Int64(Date().timeIntervalSince1970) * 1000
        var seriesCount: Int?
        var frameBytes = 0
        for host in 1...3 {
            var simulator = HostSimulator(seed: UInt64(host), startMs: startMs)
            let hostname = "bench-check-\(host)"
            for sample in 0..<5 {
                let ms = startMs + Int64(sample) * 5000
                var buffer = ByteBuffer()
                simulator.writeEnvelope(into: &buffer, hostname: hostname, hostIndex: host, timestampMs: ms, sequence: sample + 1)
                frameBytes = buffer.readableBytes + 4
                let envelope = try Envelope.decode(jsonFrame: buffer)
                guard case .metrics(var decoded) = envelope.body else { throw BenchmarkError("generated frame is not METRICS") }
                let expected = simulator.document(hostname: hostname, timestampMs: ms)
                guard abs(decoded.timestamp.timeIntervalSince1970 - expected.timestamp.timeIntervalSince1970) < 0.0005 else {
                    throw BenchmarkError("generated timestamp \(decoded.timestamp) differs from \(expected.timestamp)")
                }
                decoded.timestamp = expected.timestamp
                guard decoded == expected else {
                    throw BenchmarkError("generated JSON decodes to another document than the simulator's state:\n\(decoded)\n\(expected)")
                }
                let count = decoded.series().count
                guard seriesCount == nil || seriesCount == count else { throw BenchmarkError("series per sample varies: \(seriesCount!) and \(count)") }
                seriesCount = count
                simulator.advance(seconds: 5)
            }
        }

        // Timing: the same 5,000 samples each way (after the check above warmed both paths up).
        let rounds = 5_000
        var simulator = HostSimulator(seed: 42, startMs: startMs)
        var watch = Stopwatch()
        var sink = 0
        for sample in 0..<rounds {
            var buffer = ByteBuffer()
            buffer.reserveCapacity(4096)
            simulator.writeEnvelope(into: &buffer, hostname: "bench-00042", hostIndex: 42, timestampMs: startMs + Int64(sample) * 5000, sequence: sample)
            sink &+= buffer.readableBytes
            simulator.advance(seconds: 5)
        }
        let direct = watch.seconds / Double(rounds) * 1e6
        simulator = HostSimulator(seed: 42, startMs: startMs)
        watch = Stopwatch()
        for sample in 0..<rounds {
            let document = simulator.document(hostname: "bench-00042", timestampMs: startMs + Int64(sample) * 5000)
            let envelope = Envelope(.metrics(document), senderID: "bench-00042", timestamp: Double(startMs) / 1000, messageID: UUID().uuidString.lowercased())
            sink &+= envelope.encodedFrame().readableBytes
            simulator.advance(seconds: 5)
        }
        let codable = watch.seconds / Double(rounds) * 1e6
        precondition(sink > 0)
        return GeneratorCheck(series: seriesCount ?? 0, frameBytes: frameBytes,
                              generator: .init(directMicrosecondsPerSample: direct, codableMicrosecondsPerSample: codable))
    }
}

extension HistoryReport {
    /// The human-readable form.
    func table() -> String {
        var p = ReportPrinter()
        p.section("setup")
        p.row("date", self.setup.date)
        p.row("fleet", "\(Format.number(self.setup.hosts)) hosts × \(self.setup.samplesPerHost) samples, \(self.setup.intervalSeconds) s apart")
        p.row("deep hosts", "\(self.setup.deepHosts) × \(Format.number(self.setup.deepSamplesPerHost)) samples (24 h)")
        p.row("series per sample", "\(self.setup.seriesPerSample) (MetricsDocument.series())")
        p.row("METRICS frame", "\(Format.number(self.setup.frameBytes)) bytes")
        p.row("rates", self.setup.rateDecimals.map { "rounded to \($0) decimals (--rate-decimals)" } ?? "full precision, as the collectors send them")
        p.row("window", "\(Format.number(self.setup.window)) samples sent and not yet written")
        p.row("open-file limit", Format.number(Double(self.setup.openFileLimit)))
        p.row("load average (1 min)", String(format: "%.2f at start, %.2f at end (%d cores)", self.setup.loadAtStart.loadAverage1m, self.setup.loadAtEnd?.loadAverage1m ?? -1, self.setup.loadAtStart.cores))
        p.row("generator cost", String(format: "%.1f µs/sample direct JSON, %.1f µs/sample JSONEncoder", self.generator.directMicrosecondsPerSample, self.generator.codableMicrosecondsPerSample))

        p.section("connect")
        p.row("agents registered", "\(Format.number(self.connect.agents)) in \(String(format: "%.1f", self.connect.seconds)) s (\(Format.number(self.connect.perSecond)) /s)")
        p.row("server RSS before / after", String(format: "%.0f MiB / %.0f MiB", self.connect.serverRSSMebibytesBefore, self.connect.serverRSSMebibytesAfter))

        for (title, ingest) in [("fleet ingest", self.fleet), ("deep-host ingest", self.deep)] {
            guard let ingest else { continue }
            p.section(title)
            p.row("samples", "\(Format.number(ingest.samples)) (\(Format.number(ingest.values)) values, \(String(format: "%.1f", ingest.megabytesSent)) MB on the wire)")
            p.row("until queued / stored", String(format: "%.2f s / %.2f s", ingest.secondsUntilQueued, ingest.secondsUntilStored))
            p.row("samples/s", Format.number(ingest.samplesPerSecond))
            p.row("values/s", Format.number(ingest.valuesPerSecond))
            p.row("server CPU", String(format: "%.1f s = %.0f %% of one core", ingest.serverCPUSeconds, ingest.serverCPUPercentOfOneCore))
            p.row("load generator CPU", String(format: "%.1f s = %.0f %% of one core", ingest.loadGeneratorCPUSeconds, ingest.loadGeneratorCPUPercentOfOneCore))
            p.row("server RSS after", String(format: "%.0f MiB", ingest.serverRSSMebibytesAfter))
            p.row("refused", "\(ingest.refused)")
            p.row("accepted, not stored", "\(ingest.samplesNotStored)" + (ingest.samplesNotStored > 0 ? "  <-- LOST" : ""))
        }

        p.section("storage (GET /api/storage)")
        p.row("raw", "\(Format.number(self.storage.rawValues)) values, \(Format.mebibytes(self.storage.rawBytes)), \(Format.number(self.storage.rawBlocks)) sealed blocks")
        p.row("per-minute rollups", "\(Format.number(self.storage.minuteValues)) values, \(Format.mebibytes(self.storage.minuteBytes))")
        p.row("per-hour rollups", "\(Format.number(self.storage.hourValues)) values, \(Format.mebibytes(self.storage.hourBytes))")
        p.row("database files", Format.mebibytes(self.storage.fileBytes))
        p.row("bytes per raw value", String(format: "%.3f (raw.bytes / raw.values)", self.storage.bytesPerRawValue))
        p.row("file bytes per raw value", String(format: "%.3f", self.storage.fileBytesPerRawValue))
        if let b = self.storage.breakdown {
            let perValue = { (part: StoreInspector.Part) in part.bytesPerValue.map { String(format: "%.3f B/value", $0) } ?? "-" }
            p.row("sealed raw blocks", "\(Format.number(b.rawBlocks.values)) values, \(Format.mebibytes(b.rawBlocks.bytes)), \(perValue(b.rawBlocks))")
            p.row("  of them deep hosts", "\(Format.number(b.deepRawBlocks.values)) values, \(perValue(b.deepRawBlocks))")
            p.row("open raw rows (head)", "\(Format.number(b.rawHead.values)) values, \(Format.mebibytes(b.rawHead.bytes)), \(perValue(b.rawHead))")
            p.row("rollups sealed / head", "\(perValue(b.rollupBlocks)) / \(perValue(b.rollupHead))")
            p.row("files after shutdown", Format.mebibytes(b.fileBytes))
        }

        p.section("latency (sequential, one keep-alive connection)")
        for key in self.latency.keys.sorted() {
            let l = self.latency[key]!
            let extra = self.historyPoints[key].map { ", \(Format.number($0)) points" } ?? ""
            p.row(key, String(format: "p50 %.2f ms, p99 %.2f ms, max %.2f ms (n=%d), ", l.p50Ms, l.p99Ms, l.maxMs, l.requests) + "\(Format.number(l.responseBytes)) bytes\(extra)")
        }

        p.section("server")
        p.row("peak RSS (VmHWM)", String(format: "%.0f MiB", self.server.peakRSSMebibytes))
        p.row("RSS at end", String(format: "%.0f MiB", self.server.rssMebibytesAtEnd))
        p.row("threads", "\(self.server.threads)")
        p.row("graceful shutdown", self.server.shutdownSeconds.map { String(format: "%.2f s", $0) } ?? "killed")
        self.stores?.print(into: &p)
        return p.render()
    }
}
