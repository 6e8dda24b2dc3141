import ArgumentParser
import Foundation
import NIOCore
import VigilMetrics
import VigilServer

/// `vigil-bench exposition`: what `GET /metrics/fleet` costs the server at fleet scale, without
/// the network: the same code the route runs (the tracker's snapshot, then ``FleetExposition``),
/// in this process, round after round, timed by the wall clock and by this thread's CPU time (the
/// latter does not grow when other processes share the machine).
struct ExpositionBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exposition",
        abstract: "Renders /metrics/fleet for --hosts hosts in this process (tracker snapshot + exposition text); wall and CPU time per render.",
        discussion: """
        Each host is registered with a real LivenessTracker (HEALTHY after a heartbeat) and has a \
        latest sample from the same simulator the other scenarios send (4 cores, 3 file systems, \
        2 interfaces, 2 disks). Each round takes the tracker's snapshot and renders the text into \
        the previous round's buffer, as the route does; two rounds warm up unrecorded.
        """
    )

    @Option(help: "Hosts in the fleet.")
    var hosts = 10_000

    @Option(help: "Rounds recorded.")
    var rounds = 30

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...1_000_000).contains(self.hosts), (1...10_000).contains(self.rounds) else { throw ValidationError("--hosts must be in 1...1000000, --rounds in 1...10000") }
    }

    func run() async throws {
        let progress = self.common.progressPrinter()
        progress("building \(Format.number(self.hosts)) hosts")
        let (updates, continuation) = AsyncStream<LivenessUpdate>.makeStream(bufferingPolicy: .bufferingNewest(1))
        _ = updates
        var settings = ServerSettings()
        settings.heartbeatInterval = .seconds(5)
        let tracker = LivenessTracker(policy: LivenessPolicy(settings: settings), updates: continuation)
        let now = Date()
        let nowMs = Int64(now.timeIntervalSince1970 * 1000)
        var samples: [String: LatestSample] = [:]
        samples.reserveCapacity(self.hosts)
        let width = String(self.hosts).count
        for index in 0..<self.hosts {
            let name = "host-" + String(repeating: "0", count: width - String(index).count) + String(index)
            let info = RegistrationInfo(agentVersion: "0.1.0", protocolVersion: 1, capabilities: [], address: "10.0.0.1:40000")
            tracker.register(hostname: name, connection: ConnectionHandle(id: UInt64(index + 1)) { _, _ in }, info: info, now: .now(), wallNow: now)
            tracker.heartbeat(hostname: name, connectionID: UInt64(index + 1), now: .now(), wallNow: now)
            var simulator = HostSimulator(seed: UInt64(index + 1), startMs: nowMs - 10_000)
            simulator.advance(seconds: 5)  // a second sample: rates present, as on a running fleet
            samples[name] = LatestSample(document: simulator.document(hostname: name, timestampMs: nowMs), receivedAt: now)
        }
        progress("rendering: 2 warm-up rounds, then \(self.rounds)")
        var buffer = ByteBuffer()
        var wall: [Double] = []
        var cpu: [Double] = []
        for round in 0..<(self.rounds + 2) {
            let startCPU = Self.threadCPUSeconds()
            let start = ContinuousClock.now
            let exposition = FleetExposition(statuses: tracker.unsortedStatuses(), samples: samples)
            exposition.render(into: &buffer)
            let elapsed = ContinuousClock.now - start
            let usedCPU = Self.threadCPUSeconds() - startCPU
            guard round >= 2 else { continue }
            wall.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            cpu.append(usedCPU * 1000)
        }
        let lines = buffer.readableBytesView.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        let report = ExpositionReport(
            date: Date().formatted(.iso8601), hosts: self.hosts, rounds: self.rounds, bytes: buffer.readableBytes, lines: lines,
            wallMilliseconds: .init(wall), cpuMilliseconds: .init(cpu), load: MachineLoad.now()
        )
        try self.common.print(report) { $0.table() }
    }

    /// This thread's CPU time (the render does not leave its thread).
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

struct ExpositionReport: Codable, Sendable {
    struct Spread: Codable, Sendable {
        var min: Double
        var median: Double
        var max: Double

        init(_ values: [Double]) {
            let sorted = values.sorted()
            self.min = sorted.first ?? 0
            self.median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
            self.max = sorted.last ?? 0
        }

        var summary: String { String(format: "min %.1f ms, median %.1f ms, max %.1f ms", self.min, self.median, self.max) }
    }

    var date: String
    var hosts: Int
    var rounds: Int
    var bytes: Int
    var lines: Int
    var wallMilliseconds: Spread
    var cpuMilliseconds: Spread
    var load: MachineLoad

    func table() -> String {
        var printer = ReportPrinter()
        printer.section("/metrics/fleet rendered in-process: \(Format.number(self.hosts)) hosts, \(self.rounds) rounds")
        printer.row("text", "\(Format.number(self.bytes)) bytes, \(Format.number(self.lines)) lines")
        printer.row("wall time per render", self.wallMilliseconds.summary)
        printer.row("CPU time per render", self.cpuMilliseconds.summary)
        printer.row("machine load at end", String(format: "%.2f (%d cores)", self.load.loadAverage1m, self.load.cores))
        return printer.render()
    }
}
