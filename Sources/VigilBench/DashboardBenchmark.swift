import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `vigil-bench dashboard`: time to first render of the fleet view in real headless Chromium.
///
/// Starts a server, connects `--hosts` simulated agents (open enrollment, heartbeats, one metrics
/// sample each, so every row has figures), then runs scripts/dashboard_browser.py's `render` job:
/// it signs in once and loads the fleet page `--runs` times, measuring from navigation start to
/// the moment the page marks its first full render (`body[data-fleet-rendered]`). The agents keep
/// heartbeating and sampling during the runs, so the page also handles live updates meanwhile.
struct DashboardBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Time to first render of the fleet view with N hosts, in headless Chromium.",
        discussion: "Needs python3 with selenium, chromium and chromedriver (.ci/run installs them)."
    )

    @Option(help: "Hosts in the fleet.")
    var hosts = 2000

    @Option(help: "Page loads measured (after one warm-up load).")
    var runs = 5

    @Option(help: "Seconds between metrics samples of each simulated host during the runs.")
    var metricsInterval = 5.0

    @Option(help: "The browser driver script (default: scripts/dashboard_browser.py under the current directory).")
    var script = "scripts/dashboard_browser.py"

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...100_000).contains(self.hosts), (1...100).contains(self.runs) else {
            throw ValidationError("--hosts must be in 1...100000 and --runs in 1...100")
        }
        guard self.metricsInterval >= 0.5 else { throw ValidationError("--metrics-interval must be at least 0.5 s") }
    }

    func run() async throws {
        Cleanup.shared.installSignalHandlers()
        guard FileManager.default.fileExists(atPath: self.script) else {
            throw BenchmarkError("no browser script at \(self.script); run from the repository root or pass --script")
        }
        let progress = self.common.progressPrinter()
        let openFiles = FileLimit.raise(to: UInt64(self.hosts) * 2 + 1024)
        guard openFiles >= UInt64(self.hosts) + 256 else {
            throw BenchmarkError("the open-file limit is \(openFiles); \(self.hosts) hosts need at least \(self.hosts + 256)")
        }
        let loadAtStart = MachineLoad.now()
        let password = "bench-\(UUID().uuidString)"
        let server = try await ServerProcess.start(executable: self.common.executable, environment: [
            "VIGIL_AGENTS_OPEN_ENROLLMENT": "true",
            "VIGIL_HEARTBEAT_INTERVAL": "10s",
            "VIGIL_LOG_LEVEL": "warning",
            "VIGIL_AUTH_INITIAL_ADMIN_PASSWORD": password,
        ])
        defer { server.removeDirectory() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let fleet = AgentFleet(group: group, port: server.agentPort)
        var live: Task<Void, Never>?
        /// Stops the live samples before the connections and their event loops go away.
        func tearDown() async {
            live?.cancel()
            await live?.value
            await fleet.closeAll()
            _ = await server.stop()
            try? await group.shutdownGracefully()
        }
        do {
            let startMs = Int64(Date().timeIntervalSince1970 * 1000)
            let hosts = (0..<self.hosts).map { (index: $0, hostname: String(format: "web-%05d", $0), startMs: startMs) }
            let agents = try await fleet.connect(hosts, batch: 500, timeout: .seconds(60))
            _ = try await fleet.send(agents, firstMs: startMs, intervalMs: Int64(self.metricsInterval * 1000), count: 1)
            progress("\(self.hosts) hosts connected with a sample each; loading the fleet view \(self.runs + 1) times")
            // Live traffic during the page loads: a sample from every host each interval.
            let interval = self.metricsInterval
            live = Task {
                var next: Int64 = 1
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(interval))
                    _ = try? await fleet.send(agents, firstMs: startMs + next * Int64(interval * 1000), intervalMs: Int64(interval * 1000), count: 1)
                    next += 1
                }
            }
            let before = server.stats
            let clock = Stopwatch()
            let measured = try Self.runBrowser(script: self.script, port: server.httpPort, password: password, hosts: self.hosts, runs: self.runs, quiet: self.common.quiet)
            let seconds = clock.seconds
            let after = server.stats
            try server.checkAlive()
            let report = DashboardReport(
                date: Date().formatted(.iso8601), hosts: self.hosts, runs: measured.runs,
                firstRenderMedianMs: measured.median, firstRenderMinMs: measured.min, firstRenderMaxMs: measured.max,
                allMs: measured.all,
                serverCPUPercentOfOneCore: ((after?.cpuSeconds ?? 0) - (before?.cpuSeconds ?? 0)) / seconds * 100,
                serverRSSMebibytes: Double(after?.residentBytes ?? 0) / 1_048_576,
                loadAtStart: loadAtStart, loadAtEnd: .now())
            await tearDown()
            try self.common.print(report) { $0.table() }
        } catch {
            await tearDown()
            throw error
        }
    }

    struct Measured: Decodable {
        struct Figures: Decodable { var median: Double; var min: Double; var max: Double }
        var runs: Int
        var first_render_ms: Figures
        var all_ms: [Double]
        var median: Double { self.first_render_ms.median }
        var min: Double { self.first_render_ms.min }
        var max: Double { self.first_render_ms.max }
        var all: [Double] { self.all_ms }
    }

    /// Runs the browser script's `render` job and decodes its JSON line. Its progress lines (standard
    /// error) go to a file: shown afterwards unless `quiet`, and in the error when it fails.
    static func runBrowser(script: String, port: Int, password: String, hosts: Int, runs: Int, quiet: Bool) throws -> Measured {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "render", "--url", "http://127.0.0.1:\(port)", "--hosts", "\(hosts)", "--runs", "\(runs)"]
        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_ADMIN_PASSWORD"] = password  // not on the command line, where ps shows it
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        let errorLog = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("vigil-bench-browser-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: errorLog.path, contents: nil) else {
            throw BenchmarkError("cannot create \(errorLog.path)")
        }
        defer { try? FileManager.default.removeItem(at: errorLog) }
        process.standardError = try FileHandle(forWritingTo: errorLog)
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let progress = (try? String(contentsOf: errorLog, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw BenchmarkError("the browser script exited \(process.terminationStatus):\n\(progress.suffix(4000))")
        }
        if !quiet { FileHandle.standardError.write(Data(progress.utf8)) }
        guard let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
              let measured = try? JSONDecoder().decode(Measured.self, from: Data(line.utf8)) else {
            throw BenchmarkError("the browser script printed no figures")
        }
        return measured
    }
}

struct DashboardReport: Codable, Sendable {
    var date: String
    var hosts: Int
    var runs: Int
    var firstRenderMedianMs: Double
    var firstRenderMinMs: Double
    var firstRenderMaxMs: Double
    var allMs: [Double]
    /// While the page loads ran (the fleet heartbeating and sampling meanwhile).
    var serverCPUPercentOfOneCore: Double
    var serverRSSMebibytes: Double
    var loadAtStart: MachineLoad
    var loadAtEnd: MachineLoad

    func table() -> String {
        var p = ReportPrinter()
        p.section("Dashboard: fleet view, first render in headless Chromium (\(self.date))")
        p.row("hosts", Format.number(self.hosts))
        p.row("first render", String(format: "median %.0f ms, min %.0f ms, max %.0f ms (%d loads)", self.firstRenderMedianMs, self.firstRenderMinMs, self.firstRenderMaxMs, self.runs))
        p.row("server", String(format: "%.1f %% of a core, %.0f MiB", self.serverCPUPercentOfOneCore, self.serverRSSMebibytes))
        p.row("load average", String(format: "%.2f at start, %.2f at end (%d cores)", self.loadAtStart.loadAverage1m, self.loadAtEnd.loadAverage1m, self.loadAtEnd.cores))
        return p.render()
    }
}
