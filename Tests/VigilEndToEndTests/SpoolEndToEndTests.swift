import Foundation
import Testing

/// Issue 15 §3 with the real binaries: an agent sampling at 1 s keeps every sample through a server
/// outage (spooled, replayed as back-fill) and through its own `kill -9` while spooling.
///
/// The outage lasts `VIGIL_SPOOL_OUTAGE_SECONDS` (default 8, to keep CI fast; the issue's
/// acceptance figure is 60: `VIGIL_SPOOL_OUTAGE_SECONDS=60 swift test --skip-build --filter SpoolEndToEndTests`).
@Suite("Agent spool end to end (real binaries)", .serialized)
struct SpoolEndToEndTests {
    static var outage: Int {
        Int(ProcessInfo.processInfo.environment["VIGIL_SPOOL_OUTAGE_SECONDS"] ?? "") ?? 8
    }

    /// The host's raw sample times (memory.percent: in every sample, the first one too), oldest first.
    static func rawTimes(_ api: API, _ host: String, from: Double, to: Double) async throws -> [Double] {
        let history = try await api.get("/api/servers/\(host)/history?metric=memory.percent&resolution=raw&from=\(from)&to=\(to)") as? [String: Any]
        return (history?["points"] as? [[String: Any]] ?? []).compactMap { $0["t"] as? Double }
    }

    /// Ticks the agent logged as skipped (a sample that would have started late): each leaves a 2 s
    /// gap that no spool can fill, so the checks allow exactly that many.
    static func skippedTicks(_ agent: Child) -> Int {
        agent.output.split(separator: "\n").filter { $0.contains("fell behind") }.reduce(0) { total, line in
            guard let range = line.range(of: "skipped=") else { return total + 1 }
            return total + (Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 1)
        }
    }

    /// The gaps between consecutive samples longer than 1.5 s (a second missing).
    static func gaps(_ times: [Double]) -> [(from: Double, to: Double)] {
        zip(times, times.dropFirst()).filter { $1 - $0 > 1.5 }.map { ($0, $1) }
    }

    static func restartServer(_ fleet: inout Fleet) async throws -> Date {
        let (server, ports) = try await Fleet.startServer(fleet.vigil, directory: fleet.directory, agentPort: fleet.agentPort)
        fleet.server = server
        fleet.api = API(port: ports.http)
        return Date()
    }

    @Test("server killed for N s while the agent samples at 1 s: afterwards the raw history has every second, none twice, and current is the newest")
    func serverOutage() async throws {
        var fleet = try await Fleet.start()
        defer { fleet.stop() }
        let agent = try fleet.agent("spooler", key: try fleet.key(for: "spooler"), extraArguments: ["--metrics-interval", "1", "--backoff-max", "1"])
        let first = try await waitFor("3 live samples", timeout: .seconds(20)) { () -> Double? in
            let times = try await Self.rawTimes(fleet.api, "spooler", from: Date().timeIntervalSince1970 - 300, to: Date().timeIntervalSince1970 + 5)
            return times.count >= 3 ? times[0] : nil
        }

        fleet.server.signal(SIGKILL)
        _ = try await fleet.server.waitForExit()
        let killedAt = Date()
        try await Task.sleep(for: .seconds(Self.outage))  // the outage itself: nothing to wait for
        let restartedAt = try await Self.restartServer(&fleet)

        let replayStarted = ContinuousClock.now
        let times = try await waitFor("the outage back-filled", timeout: .seconds(30 + Self.outage / 2)) { () -> [Double]? in
            let times = try await Self.rawTimes(fleet.api, "spooler", from: first - 0.5, to: Date().timeIntervalSince1970 + 5)
            guard let last = times.last, last >= restartedAt.timeIntervalSince1970 + 2,
                  Self.gaps(times).count <= Self.skippedTicks(agent) else { return nil }
            return times
        }
        let backfilledIn = ContinuousClock.now - replayStarted
        #expect(Set(times).count == times.count, "no sample stored twice")
        #expect(times == times.sorted())
        let covered = times.filter { $0 > killedAt.timeIntervalSince1970 && $0 < restartedAt.timeIntervalSince1970 }
        #expect(covered.count >= Self.outage - 1 - Self.skippedTicks(agent), "the outage's samples: \(covered.count) in \(Self.outage) s")
        #expect(agent.output.contains("replaying spooled metrics samples"))
        // Current is the newest sample, not a replayed one.
        let current = try await fleet.api.get("/api/servers/spooler/current") as? [String: Any]
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let stamp = ((current?["metrics"] as? [String: Any])?["timestamp"] as? String).flatMap(format.date(from:))
        #expect(stamp.map { Date().timeIntervalSince($0) < 5 } == true, "current is a live sample: \(String(describing: stamp))")
        print("spool end to end: \(Self.outage) s outage, \(covered.count) samples spooled and back-filled; history complete \(backfilledIn) after the restart")
    }

    @Test("kill -9 of the agent while spooling: the samples spooled before it are replayed by the next agent; only its own downtime is missing")
    func agentKilledWhileSpooling() async throws {
        var fleet = try await Fleet.start()
        defer { fleet.stop() }
        let key = try fleet.key(for: "crasher")
        let spool = fleet.directory.appendingPathComponent("crasher-spool").path
        let arguments = ["--server", "127.0.0.1:\(fleet.agentPort)", "--ca", fleet.caFile, "--key", key, "--hostname", "crasher",
                         "--metrics-interval", "1", "--backoff-initial", "0.2", "--backoff-max", "1", "--log-level", "debug"]
        let firstAgent = try Child(fleet.agentBinary, arguments, name: "agent-crasher-a", directory: fleet.directory, environment: ["VIGIL_SPOOL_DIR": spool])
        fleet.children.append(firstAgent)
        let first = try await waitFor("3 live samples", timeout: .seconds(20)) { () -> Double? in
            let times = try await Self.rawTimes(fleet.api, "crasher", from: Date().timeIntervalSince1970 - 300, to: Date().timeIntervalSince1970 + 5)
            return times.count >= 3 ? times[0] : nil
        }
        fleet.server.signal(SIGKILL)
        _ = try await fleet.server.waitForExit()
        try await Task.sleep(for: .seconds(4))  // spooling
        firstAgent.signal(SIGKILL)
        _ = try await firstAgent.waitForExit()
        let agentKilledAt = Date()
        let segments = try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.hasSuffix(".seg") }
        #expect(!segments.isEmpty, "the dead agent left its spool")
        try await Task.sleep(for: .seconds(3))  // the agent's own downtime: a gap no spool can fill
        let secondAgent = try Child(fleet.agentBinary, arguments, name: "agent-crasher-b", directory: fleet.directory, environment: ["VIGIL_SPOOL_DIR": spool])
        fleet.children.append(secondAgent)
        let agentStartedAt = Date()
        try await Task.sleep(for: .seconds(2))  // the new agent spools too, behind the old samples
        let restartedAt = try await Self.restartServer(&fleet)

        let times = try await waitFor("the spool replayed", timeout: .seconds(30)) { () -> [Double]? in
            let times = try await Self.rawTimes(fleet.api, "crasher", from: first - 0.5, to: Date().timeIntervalSince1970 + 5)
            guard let last = times.last, last >= restartedAt.timeIntervalSince1970 + 2,
                  Self.gaps(times).count <= 1 + Self.skippedTicks(firstAgent) + Self.skippedTicks(secondAgent) else { return nil }
            return times
        }
        #expect(Set(times).count == times.count, "no sample stored twice")
        let gaps = Self.gaps(times).filter { $0.to - $0.from > 2.5 }
        #expect(gaps.count == 1, "one gap, the agent's own downtime: \(gaps)")
        if let gap = gaps.first {
            // At most the sample being written when it died is lost: the samples up to about a
            // second before the kill are there, and the next agent's from its start.
            #expect(gap.from >= agentKilledAt.timeIntervalSince1970 - 2.2, "spooled samples before the kill are kept (gap from \(gap.from), killed at \(agentKilledAt.timeIntervalSince1970))")
            #expect(gap.to <= agentStartedAt.timeIntervalSince1970 + 3)
        }
    }
}
