import ArgumentParser
import Foundation
import Histogram
import NIOCore
import NIOPosix
import VigilMetrics

/// `vigil-bench stream`: fan-out of live samples to many WebSocket clients (issue 5).
///
/// Starts its own `vigil server`, signs in, connects `--clients` WebSocket clients to
/// `GET /api/stream` (each subscribed to one host's samples, `host:<name>`, spread over the hosts),
/// connects `--hosts` simulated agents over TCP, and has each send `--rate` samples per second
/// for `--duration` seconds. Every client records when each sample arrives.
struct StreamBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Live stream fan-out: delivery latency of samples to many WebSocket clients, server CPU and memory.",
        discussion: """
        Two latencies per delivery. "Agent → client": from the moment this process writes the \
        sample on the agent's TCP connection to the moment a stream client reads it (one monotonic \
        clock: exact). "Server → client": from the server's `received_at` in the message (its wall \
        clock, in whole milliseconds, so up to 1 ms too high) to the client's wall clock at arrival. \
        Server CPU is measured over the sending period only (connection set-up excluded).
        """
    )

    @Option(help: "WebSocket clients.")
    var clients = 1000

    @Option(help: "Agents sending samples; client i subscribes to host i mod hosts.")
    var hosts = 1

    @Option(help: "Samples per second each agent sends.")
    var rate = 1.0

    @Option(help: "Seconds of sending.")
    var duration = 30

    @Option(help: "Clients connected at once while setting up.")
    var connectBatch = 100

    @Option(help: "Seconds the set-up and the final deliveries may take.")
    var timeout = 120

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard self.clients >= 1, self.hosts >= 1, self.rate > 0, self.rate <= 1000, self.duration >= 1, self.connectBatch >= 1 else {
            throw ValidationError("--clients, --hosts, --duration and --connect-batch must be positive; --rate in (0, 1000]")
        }
    }

    func run() async throws {
        Cleanup.shared.installSignalHandlers()
        let progress = self.common.progressPrinter()
        _ = FileLimit.raise(to: UInt64(self.clients + self.hosts + 1024))
        let load = MachineLoad.now()
        let server = try await ServerProcess.start(executable: self.common.executable, environment: [
            "VIGIL_AGENTS_OPEN_ENROLLMENT": "true",
            "VIGIL_LOG_LEVEL": "warning",
            "VIGIL_STREAM_MAX_CLIENTS": "\(max(10_000, self.clients + 100))",
            // Room above --rate, so no sample is refused as too frequent.
            "VIGIL_METRICS_RATE_LIMIT": "\(max(2, self.rate * 2))",
            "VIGIL_METRICS_RATE_BURST": "\(max(20, self.rate * 4))",
        ])
        defer { server.removeDirectory() }
        let group = MultiThreadedEventLoopGroup.singleton
        var probes: [StreamProbe] = []
        do {
            let http = try await HTTPClient.connect(group: group, port: server.httpPort, credentials: nil)
            let token = try await Self.signIn(http)
            let hostnames = (0..<self.hosts).map { "stream-host-\($0)" }

            progress("connecting \(self.clients) stream clients")
            let setup = Stopwatch()
            probes = (0..<self.clients).map(StreamProbe.init(index:))
            var next = 0
            while next < probes.count {
                let batch = probes[next..<min(next + self.connectBatch, probes.count)]
                try await Self.withTimeout(.seconds(self.timeout), "stream clients \(next)… to subscribe") {
                    try await withThrowingTaskGroup(of: Void.self) { tasks in
                        for probe in batch {
                            let topic = "host:\(hostnames[probe.index % hostnames.count])"
                            tasks.addTask { try await probe.start(port: server.httpPort, token: token, topics: [topic]) }
                        }
                        try await tasks.waitForAll()
                    }
                }
                next += batch.count
            }
            progress("\(self.clients) clients subscribed in \(String(format: "%.1f", setup.seconds)) s; connecting \(self.hosts) agent(s)")
            let fleet = AgentFleet(group: group, port: server.agentPort)
            let startMs = Int64(Date().timeIntervalSince1970 * 1000)
            let agents = try await fleet.connect(hostnames.enumerated().map { ($0.offset, $0.element, startMs) }, batch: 100, timeout: .seconds(30))
            let idle = server.stats

            // Sending: every 1/rate s each agent writes one sample stamped with the wall clock now.
            // Its send instant is kept by (host, sample time in ms) to match arrivals afterwards.
            progress("sending \(self.rate) sample(s)/s from each of \(self.hosts) agent(s) for \(self.duration) s")
            var sent: [String: UInt64] = [:]
            var samplesPerHost = Array(repeating: 0, count: self.hosts)
            let serverBefore = server.stats
            let ownBefore = ProcessStats.current()
            let interval = Duration.seconds(1 / self.rate)
            let begin = ContinuousClock.now
            var tick = begin
            var lastMs: Int64 = 0
            while ContinuousClock.now - begin < .seconds(self.duration) {
                // One sample time per tick, always newer than the last.
                let ms = max(Int64(Date().timeIntervalSince1970 * 1000), lastMs + 1)
                lastMs = ms
                for agent in agents {
                    let instant = NIODeadline.now().uptimeNanoseconds
                    _ = try await agent.channel.eventLoop.submit { agent.writeSamples(firstMs: ms, intervalMs: 1, count: 1) }.get()
                    sent["\(agent.index)|\(ms)"] = instant
                    samplesPerHost[agent.index] += 1
                }
                tick += interval
                try await Task.sleep(until: tick, clock: .continuous)
            }
            let sendingSeconds = (ContinuousClock.now - begin).seconds
            let serverAfter = server.stats
            let ownAfter = ProcessStats.current()

            var expected = 0
            for probe in probes { expected += samplesPerHost[probe.index % self.hosts] }
            progress("sent \(samplesPerHost.reduce(0, +)) samples; waiting for \(expected) deliveries")
            let settle = ContinuousClock.now
            while ContinuousClock.now - settle < .seconds(self.timeout) {
                if probes.reduce(0, { $0 + $1.arrivalCount }) >= expected { break }
                if probes.contains(where: { $0.failure != nil }) { break }
                // A refused sample is never delivered: waiting out --timeout for it tells nothing more.
                if !fleet.counters.snapshot.refusals.isEmpty { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let health = try await Self.streamHealth(http)
            let agentsHeard = fleet.counters.snapshot
            let failures = probes.compactMap(\.failure)
            let serverEnd = server.stats

            // Latencies, in microseconds.
            var agentToClient = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
            agentToClient.autoResize = true
            var serverToClient = agentToClient
            var delivered = 0
            var unmatched = 0
            for probe in probes {
                for arrival in probe.arrivals {
                    delivered += 1
                    // ISO 8601 with milliseconds truncates the binary fraction (…0.1229999 is written
                    // .122): the sample sent at ms may come back as ms - 1.
                    let shown = Date(vigilISO8601: String(arrival.sampleTime)).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
                    if let shown, let instant = sent["\(probe.index % self.hosts)|\(shown)"] ?? sent["\(probe.index % self.hosts)|\(shown + 1)"] {
                        _ = agentToClient.record(max(1, (arrival.uptimeNs &- instant) / 1000))
                    } else {
                        unmatched += 1
                    }
                    if let received = Date(vigilISO8601: String(arrival.receivedAt)) {
                        _ = serverToClient.record(UInt64(max(1, (arrival.wallSeconds - received.timeIntervalSince1970) * 1_000_000)))
                    }
                }
            }
            for probe in probes { await probe.stop() }
            await http.close()
            _ = await server.stop()
            let ms = { (microseconds: UInt64) in Double(microseconds) / 1000 }
            let cpu = ((serverAfter?.cpuSeconds ?? 0) - (serverBefore?.cpuSeconds ?? 0)) / sendingSeconds * 100
            let report = StreamReport(
                date: Date().formatted(.iso8601), clients: self.clients, hosts: self.hosts, ratePerHost: self.rate,
                seconds: sendingSeconds, samplesSent: samplesPerHost.reduce(0, +), deliveriesExpected: expected, deliveries: delivered,
                unmatched: unmatched, samplesRefused: agentsHeard.refusals.values.reduce(0, +), droppedSlow: health.droppedSlow, skippedItems: health.skippedItems, clientFailures: failures.count,
                deliveriesPerSecond: Double(delivered) / sendingSeconds,
                agentToClientP50Ms: ms(agentToClient.valueAtPercentile(50)), agentToClientP99Ms: ms(agentToClient.valueAtPercentile(99)), agentToClientMaxMs: ms(agentToClient.max),
                serverToClientP50Ms: ms(serverToClient.valueAtPercentile(50)), serverToClientP99Ms: ms(serverToClient.valueAtPercentile(99)), serverToClientMaxMs: ms(serverToClient.max),
                serverCPUPercentOfOneCore: cpu,
                loadGeneratorCPUPercentOfOneCore: (ownAfter.cpuSeconds - ownBefore.cpuSeconds) / sendingSeconds * 100,
                serverIdleRSSMebibytes: Double(idle?.residentBytes ?? 0) / 1_048_576,
                serverPeakRSSMebibytes: Double(serverEnd?.peakResidentBytes ?? 0) / 1_048_576,
                loadAtStart: load, loadAtEnd: .now())
            try self.common.print(report) { $0.table() }
            if let failure = failures.first {
                throw BenchmarkError("\(failures.count) stream client(s) failed, e.g. \(failure)")
            }
            if delivered < expected {
                throw BenchmarkError("\(expected - delivered) of \(expected) deliveries never arrived" + (agentsHeard.firstRefusal.map { "; the server refused samples, first: \($0)" } ?? ""))
            }
        } catch {
            for probe in probes { await probe.stop() }
            _ = await server.stop()
            throw error
        }
    }

    /// Signs in as the server's first admin; returns the access token.
    static func signIn(_ http: HTTPClient) async throws -> String {
        let body = try JSONSerialization.data(withJSONObject: ["username": "admin", "password": ServerProcess.adminPassword])
        let answer = try await http.send(.POST, "/api/auth/login", body: body)
        struct Grant: Decodable { var access_token: String }
        guard answer.status == 200, let grant = try? JSONDecoder().decode(Grant.self, from: answer.data) else {
            throw BenchmarkError("sign-in failed: HTTP \(answer.status): \(String(decoding: answer.data.prefix(300), as: UTF8.self))")
        }
        return grant.access_token
    }

    /// `stream` of `GET /api/health`.
    static func streamHealth(_ http: HTTPClient) async throws -> (droppedSlow: Int, skippedItems: Int) {
        struct Health: Decodable {
            var stream: Stream?
            struct Stream: Decodable {
                var dropped_slow: Int
                var skipped_items: Int
            }
        }
        let health = try await http.getJSON(Health.self, "/api/health")
        return (health.stream?.dropped_slow ?? -1, health.stream?.skipped_items ?? -1)
    }

    static func withTimeout(_ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw BenchmarkError("timed out after \(timeout) waiting for \(what)")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }
}

/// The figures of one run.
struct StreamReport: Codable, Sendable {
    var date: String
    var clients: Int
    var hosts: Int
    var ratePerHost: Double
    var seconds: Double
    var samplesSent: Int
    var deliveriesExpected: Int
    var deliveries: Int
    /// Arrivals whose sample time matched no sample sent (0 unless something is wrong).
    var unmatched: Int
    /// Samples the server refused (answered on the agent connection); not streamed, so not delivered.
    var samplesRefused: Int
    var droppedSlow: Int
    var skippedItems: Int
    var clientFailures: Int
    var deliveriesPerSecond: Double
    var agentToClientP50Ms: Double
    var agentToClientP99Ms: Double
    var agentToClientMaxMs: Double
    var serverToClientP50Ms: Double
    var serverToClientP99Ms: Double
    var serverToClientMaxMs: Double
    var serverCPUPercentOfOneCore: Double
    var loadGeneratorCPUPercentOfOneCore: Double
    var serverIdleRSSMebibytes: Double
    var serverPeakRSSMebibytes: Double
    var loadAtStart: MachineLoad
    var loadAtEnd: MachineLoad

    func table() -> String {
        var printer = ReportPrinter()
        printer.section("Live stream fan-out: \(Format.number(self.clients)) clients, \(self.hosts) host(s) at \(Format.number(self.ratePerHost, 2)) sample(s)/s")
        printer.row("samples sent", "\(Format.number(self.samplesSent)) in \(String(format: "%.1f", self.seconds)) s (refused by the server: \(self.samplesRefused))")
        printer.row("deliveries", "\(Format.number(self.deliveries)) of \(Format.number(self.deliveriesExpected)) (dropped slow \(self.droppedSlow), skipped \(self.skippedItems), client failures \(self.clientFailures))")
        printer.row("deliveries/s", Format.number(self.deliveriesPerSecond))
        if self.unmatched > 0 { printer.row("unmatched arrivals", "\(self.unmatched) (no sample sent at that time: a bug)") }
        printer.row("agent → client latency", "p50 \(Format.milliseconds(self.agentToClientP50Ms)), p99 \(Format.milliseconds(self.agentToClientP99Ms)), max \(Format.milliseconds(self.agentToClientMaxMs))")
        printer.row("server → client latency", "p50 \(Format.milliseconds(self.serverToClientP50Ms)), p99 \(Format.milliseconds(self.serverToClientP99Ms)), max \(Format.milliseconds(self.serverToClientMaxMs)) (received_at in whole ms)")
        printer.row("server CPU while sending", String(format: "%.1f %% of one core", self.serverCPUPercentOfOneCore))
        printer.row("load generator CPU", String(format: "%.1f %% of one core", self.loadGeneratorCPUPercentOfOneCore))
        printer.row("server RSS", "\(Format.number(self.serverIdleRSSMebibytes, 1)) MiB with clients connected, \(Format.number(self.serverPeakRSSMebibytes, 1)) MiB peak")
        printer.section("Machine")
        printer.row("load at start / end", String(format: "%.2f / %.2f (%d cores)", self.loadAtStart.loadAverage1m, self.loadAtEnd.loadAverage1m, self.loadAtStart.cores))
        return printer.render()
    }
}
