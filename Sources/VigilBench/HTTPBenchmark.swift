import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `vigil-bench http`: the HTTP API under load — the fleet overview, one host's latest sample and
/// a 24 h history — from a closed-loop pool of keep-alive connections.
struct HTTPBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "The API under load: a closed-loop client pool against /api/servers, /api/servers/{h}/current, a 24 h /history and /metrics/fleet; requests/s and latency per endpoint.",
        discussion: """
        Fills a server first: `--hosts` agents send `--samples` samples each (5 s apart, ending now), \
        and one more host sends 24 h of samples. Then each endpoint in turn gets `--clients` \
        keep-alive connections, each sending its next request as soon as the answer is read (closed \
        loop, no pipelining), for `--warmup` seconds unrecorded and `--duration` seconds recorded. \
        Latency is from writing the request to reading the answer's last byte, on the connection's \
        event loop. Every answer must be 200 (or the run stops, exit status 1). \
        After `/metrics/fleet` (Prometheus exposition of every host), the server's own render time \
        for it is read from its `/metrics` (`vigil_fleet_exposition_render_seconds`). \
        The same load from `wrk`, with the server filled by this command's first phase: \
        `wrk -t2 -c16 -d10s http://127.0.0.1:PORT/api/servers`.
        """
    )

    @Option(help: "Hosts in the fleet (the overview lists them all).")
    var hosts = 10_000

    @Option(help: "Samples each fleet host sends (its latest is what /current serves).")
    var samples = 2

    @Option(help: "Hours of samples the history host sends (the query asks for the last 24 h).")
    var historyHours = 24

    @Option(help: "Connections in the client pool.")
    var clients = 16

    @Option(help: "Seconds recorded per endpoint.")
    var duration = 10.0

    @Option(help: "Seconds per endpoint before recording starts.")
    var warmup = 2.0

    @Option(help: "Agents connecting at once.")
    var connectBatch = 500

    @Option(help: "Only these endpoints (comma-separated: servers, current, history_24h, metrics_fleet); all by default.")
    var only: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard self.hosts >= 1, self.hosts <= 1_000_000, self.samples >= 1 else { throw ValidationError("--hosts must be in 1...1000000, --samples at least 1") }
        guard (1...24 * 30).contains(self.historyHours) else { throw ValidationError("--history-hours must be in 1...720") }
        guard (1...10_000).contains(self.clients), self.duration > 0, self.warmup >= 0, self.connectBatch >= 1 else {
            throw ValidationError("--clients must be in 1...10000, --duration positive, --warmup not negative")
        }
    }

    func run() async throws {
        Cleanup.shared.installSignalHandlers()
        let progress = self.common.progressPrinter()
        let openFiles = FileLimit.raise(to: UInt64(self.hosts + self.clients) * 2 + 1024)
        guard openFiles >= UInt64(self.hosts + self.clients) + 256 else {
            throw BenchmarkError("the open-file limit is \(openFiles); \(self.hosts) agents and \(self.clients) clients need at least \(self.hosts + self.clients + 256)")
        }
        let loadAtStart = MachineLoad.now()
        let server = try await ServerProcess.start(executable: self.common.executable, environment: [
            "VIGIL_AGENTS_OPEN_ENROLLMENT": "true",
            "VIGIL_HEARTBEAT_INTERVAL": "600s",
            "VIGIL_METRICS_RATE_LIMIT": "10000",
            "VIGIL_METRICS_RATE_BURST": "100000",
            "VIGIL_LOG_LEVEL": "warning",
        ])
        defer { server.removeDirectory() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let fleet = AgentFleet(group: group, port: server.agentPort)
        let report: HTTPReport
        do {
            let (fleetHost, historyHost) = try await self.fill(server: server, group: group, fleet: fleet, progress: progress)
            let now = Int(Date().timeIntervalSince1970)
            let listed = self.hosts + 1
            let endpoints: [(key: String, path: String, check: @Sendable (HTTPAnswer) throws -> Void)] = [
                ("servers", "/api/servers", { answer in
                    struct Host: Decodable { var hostname: String }
                    let count = try JSONDecoder().decode([Host].self, from: answer.data).count
                    guard count == listed else { throw BenchmarkError("/api/servers lists \(count) hosts, expected \(listed)") }
                }),
                ("current", "/api/servers/\(fleetHost)/current", { _ in }),
                ("metrics_fleet", "/metrics/fleet", { answer in
                    let text = String(buffer: answer.body)
                    let count = text.components(separatedBy: "\nvigil_host_up{").count - 1
                    guard count == listed else { throw BenchmarkError("/metrics/fleet has \(count) vigil_host_up series, expected \(listed)") }
                }),
                ("history_24h", "/api/servers/\(historyHost)/history?metric=cpu.percent&from=\(now - 86_400)&to=\(now)", { answer in
                    let history = try JSONDecoder().decode(VigilAPI.History.self, from: answer.data)
                    guard history.resolution != "raw", !history.points.isEmpty else {
                        throw BenchmarkError("24 h history: resolution \(history.resolution) with \(history.points.count) points")
                    }
                }),
            ]
            var phases: [String: HTTPReport.Endpoint] = [:]
            let chosen = self.only.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
            for endpoint in endpoints where chosen?.contains(endpoint.key) ?? true {
                progress("\(endpoint.key): \(self.clients) connections, \(self.warmup) s warm-up + \(self.duration) s: GET \(endpoint.path)")
                let phase = try await self.closedLoop(server: server, group: group, path: endpoint.path, check: endpoint.check)
                progress("\(endpoint.key): \(Format.number(phase.requestsPerSecond)) requests/s, \(phase.latency.summary)")
                phases[endpoint.key] = phase
            }
            try server.checkAlive()
            let render = phases["metrics_fleet"] == nil ? nil : try await self.fleetRender(server: server, group: group)
            report = HTTPReport(date: Date().formatted(.iso8601), hosts: self.hosts, historyHours: self.historyHours, clients: self.clients,
                                durationSeconds: self.duration, endpoints: phases, fleetRender: render,
                                serverRSSMebibytes: Double(server.stats?.residentBytes ?? 0) / 1_048_576,
                                loadAtStart: loadAtStart, loadAtEnd: .now())
        } catch {
            await ConnectionsBenchmark.tearDown(fleet, server, group)
            throw error
        }
        await ConnectionsBenchmark.tearDown(fleet, server, group)
        try self.common.print(report) { $0.table() }
    }

    /// Connects the fleet and the history host and sends their samples.
    /// - Returns: A fleet host's name and the history host's.
    private func fill(server: ServerProcess, group: MultiThreadedEventLoopGroup, fleet: AgentFleet, progress: @Sendable (String) -> Void) async throws -> (String, String) {
        let intervalMs: Int64 = 5000
        let nowMs = Int64(Date().timeIntervalSince1970) * 1000
        let fleetStartMs = nowMs - Int64(self.samples) * intervalMs
        let historySamples = self.historyHours * 720
        let historyStartMs = nowMs - Int64(historySamples) * intervalMs
        let width = String(self.hosts).count
        let fleetHosts = (0..<self.hosts).map { (index: $0, hostname: "http-" + String(repeating: "0", count: width - String($0).count) + String($0), startMs: fleetStartMs) }
        progress("connecting \(self.hosts + 1) agents")
        let fleetAgents = try await fleet.connect(fleetHosts, batch: self.connectBatch, timeout: .seconds(60))
        let historyAgents = try await fleet.connect([(index: self.hosts, hostname: "http-history", startMs: historyStartMs)], batch: 1, timeout: .seconds(60))
        let series = HostSimulator.seriesPerSample
        progress("sending \(Format.number(self.hosts * self.samples)) fleet samples and \(Format.number(historySamples)) for the history host")
        let http = try await self.connectClient(group: group, port: server.httpPort)
        do {
            let driver = IngestDriver(fleet: fleet, api: VigilAPI(client: http), server: server, window: 100_000, pollInterval: .milliseconds(100), timeout: .seconds(1800))
            let filled = try await driver.run(agents: fleetAgents, samplesPerAgent: self.samples, startMs: fleetStartMs, intervalMs: intervalMs, chunk: 1,
                                              seriesPerSample: series, storedBefore: 0)
            let history = try await driver.run(agents: historyAgents, samplesPerAgent: historySamples, startMs: historyStartMs, intervalMs: intervalMs, chunk: 2_000,
                                               seriesPerSample: series, storedBefore: filled.storedRawValues)
            guard filled.samplesNotStored + history.samplesNotStored == 0 else {
                throw BenchmarkError("\(filled.samplesNotStored + history.samplesNotStored) sample(s) accepted but not stored")
            }
        } catch {
            await http.close()
            throw error
        }
        await http.close()
        return (fleetAgents[fleetAgents.count / 2].hostname, historyAgents[0].hostname)
    }

    /// `--clients` connections each sending `GET path` back to back; the answers completed within
    /// the recorded window are counted.
    private func closedLoop(server: ServerProcess, group: MultiThreadedEventLoopGroup, path: String, check: @Sendable (HTTPAnswer) throws -> Void) async throws -> HTTPReport.Endpoint {
        var clients: [HTTPClient] = []
        do {
            for _ in 0..<self.clients { clients.append(try await self.connectClient(group: group, port: server.httpPort)) }
            let endpoint = try await self.closedLoop(clients, server: server, path: path, check: check)
            for client in clients { await client.close() }
            return endpoint
        } catch {
            for client in clients { await client.close() }
            throw error
        }
    }

    private func closedLoop(_ clients: [HTTPClient], server: ServerProcess, path: String, check: @Sendable (HTTPAnswer) throws -> Void) async throws -> HTTPReport.Endpoint {
        // Checked once before the load: the answer is what the endpoint should give.
        let first = try await clients[0].get(path)
        guard first.status == 200 else { throw BenchmarkError("GET \(path): HTTP \(first.status): \(String(decoding: first.data.prefix(500), as: UTF8.self))") }
        try check(first)

        let latency = LatencyRecorder()
        let start = ContinuousClock.now
        let recordFrom = start + .seconds(self.warmup)
        let end = recordFrom + .seconds(self.duration)
        let (requests, bytes, window) = try await withThrowingTaskGroup(of: (Int, Int).self) { tasks in
            for client in clients {
                tasks.addTask {
                    var requests = 0
                    var bytes = 0
                    while ContinuousClock.now < end {
                        let answer = try await client.get(path, timeout: .seconds(60))
                        guard answer.status == 200 else {
                            throw BenchmarkError("GET \(path): HTTP \(answer.status): \(String(decoding: answer.data.prefix(500), as: UTF8.self))")
                        }
                        // Answers completed within the window count (throughput), with their latency.
                        let answeredAt = ContinuousClock.now
                        if answeredAt >= recordFrom && answeredAt <= end {
                            latency.record(nanoseconds: answer.nanoseconds)
                            requests += 1
                            bytes += answer.bytes
                        }
                    }
                    return (requests, bytes)
                }
            }
            // The server's and this process's CPU over the recorded window.
            try await Task.sleep(until: recordFrom, clock: .continuous)
            let before = (server: server.stats, own: ProcessStats.current())
            try await Task.sleep(until: end, clock: .continuous)
            let after = (server: server.stats, own: ProcessStats.current())
            var requests = 0
            var bytes = 0
            for try await (count, size) in tasks {
                requests += count
                bytes += size
            }
            return (requests, bytes, (before, after))
        }
        let seconds = self.duration
        return HTTPReport.Endpoint(
            path: path, requests: requests, requestsPerSecond: Double(requests) / seconds,
            responseBytes: requests == 0 ? 0 : bytes / requests, latency: latency.percentiles,
            serverCPUPercentOfOneCore: ((window.1.server?.cpuSeconds ?? 0) - (window.0.server?.cpuSeconds ?? 0)) / seconds * 100,
            loadGeneratorCPUPercentOfOneCore: (window.1.own.cpuSeconds - window.0.own.cpuSeconds) / seconds * 100,
            loadAverage1m: MachineLoad.now().loadAverage1m)
    }

    /// The server's own `/metrics/fleet` render times so far, from its `/metrics`.
    private func fleetRender(server: ServerProcess, group: MultiThreadedEventLoopGroup) async throws -> HTTPReport.FleetRender {
        let client = try await self.connectClient(group: group, port: server.httpPort)
        let answer = try await client.get("/metrics")
        await client.close()
        guard answer.status == 200 else { throw BenchmarkError("GET /metrics: HTTP \(answer.status)") }
        var render = HTTPReport.FleetRender()
        for line in String(buffer: answer.body).split(separator: "\n") where line.hasPrefix("vigil_fleet_exposition_render_seconds") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            if parts[0] == "vigil_fleet_exposition_render_seconds_sum" { render.totalSeconds = value }
            if parts[0] == "vigil_fleet_exposition_render_seconds_count" { render.count = Int(value) }
            if parts[0].hasSuffix(#"{le="0.05"}"#) { render.within50ms = Int(value) }
        }
        return render
    }

    /// One connection of the pool (the one place to add what every API request needs).
    private func connectClient(group: MultiThreadedEventLoopGroup, port: Int) async throws -> HTTPClient {
        try await HTTPClient.connect(group: group, port: port)
    }
}

struct HTTPReport: Codable, Sendable {
    struct Endpoint: Codable, Sendable {
        var path: String
        /// Answered within the recorded window.
        var requests: Int
        var requestsPerSecond: Double
        /// Mean body size.
        var responseBytes: Int
        var latency: LatencyPercentiles
        var serverCPUPercentOfOneCore: Double
        var loadGeneratorCPUPercentOfOneCore: Double
        var loadAverage1m: Double
    }

    /// The server's own time to render `/metrics/fleet` (its `vigil_fleet_exposition_render_seconds`).
    struct FleetRender: Codable, Sendable {
        var count = 0
        var totalSeconds = 0.0
        /// Renders that took 50 ms or less.
        var within50ms = 0
        var meanMilliseconds: Double { self.count == 0 ? 0 : self.totalSeconds / Double(self.count) * 1000 }
    }

    var date: String
    var hosts: Int
    var historyHours: Int
    var clients: Int
    var durationSeconds: Double
    var endpoints: [String: Endpoint]
    var fleetRender: FleetRender?
    var serverRSSMebibytes: Double
    var loadAtStart: MachineLoad
    var loadAtEnd: MachineLoad

    func table() -> String {
        var printer = ReportPrinter()
        printer.section("HTTP API: \(Format.number(self.hosts)) hosts, \(self.clients) keep-alive connections (closed loop), \(String(format: "%.0f", self.durationSeconds)) s per endpoint")
        for key in self.endpoints.keys.sorted() {
            let endpoint = self.endpoints[key]!
            printer.row(key, "\(Format.number(endpoint.requestsPerSecond)) requests/s, \(endpoint.latency.summary), \(Format.number(endpoint.responseBytes)) bytes")
            printer.row("  server / load generator CPU", String(format: "%.0f %% / %.0f %% of one core (load %.2f)", endpoint.serverCPUPercentOfOneCore, endpoint.loadGeneratorCPUPercentOfOneCore, endpoint.loadAverage1m))
        }
        if let render = self.fleetRender {
            printer.row("/metrics/fleet render (server side)", String(format: "%d renders, mean %.1f ms, %d within 50 ms", render.count, render.meanMilliseconds, render.within50ms))
        }
        printer.row("server RSS at end", "\(Format.number(self.serverRSSMebibytes, 1)) MiB")
        printer.row("machine load at start / end", String(format: "%.2f / %.2f (%d cores)", self.loadAtStart.loadAverage1m, self.loadAtEnd.loadAverage1m, self.loadAtStart.cores))
        return printer.render()
    }
}
