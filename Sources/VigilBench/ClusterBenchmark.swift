import ArgumentParser
import Foundation
import NIOPosix
import VigilConnection
import VigilLocalPostgres

/// `vigil-bench cluster`: kill the leader of a cluster, again and again; how long until another
/// leads, and until every agent of the dead server is registered with another.
struct ClusterBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Kill -9 a cluster's leader K times; report new-leader time, agent re-registration time (p50/p99), false DOWNs, chat delivery and sample gaps.",
        discussion: """
        Starts a real PostgreSQL (initdb in a temporary directory, fsync on), S `vigil server`s on it \
        (store.backend postgres) and N real `vigil-agent` processes, each configured with every \
        server (in a rotated order, so they spread). Then K times: the current leader is killed \
        with SIGKILL; the survivors' /api/cluster is polled every 10 ms until another member leads \
        (new-leader time, from the kill), and their /api/agents until every host the dead server \
        held is connected to a survivor (re-registration time per agent). The killed server is \
        started again (same member id) before the next round. DOWN events stored during the run \
        are false DOWNs: no agent was stopped. Meanwhile C chat clients (the `vigil chat` client \
        library, failing over between members) each send a message every --chat-interval-ms to a \
        client on another member: at the end every acknowledged message must have been delivered \
        once and in per-sender order. Agents sample every --metrics-interval seconds with their \
        spool on; at the end every host's raw history over the run is checked for gaps and \
        duplicates.
        """
    )

    @Option(help: "Servers in the cluster.")
    var servers = 3

    @Option(help: "Real vigil-agent processes.")
    var agents = 60

    @Option(help: "Leader kills.")
    var kills = 10

    @Option(help: "Chat clients spread over the members (0: none).")
    var chatClients = 20

    @Option(help: "Each chat client sends one message this often, in milliseconds.")
    var chatIntervalMs = 200

    @Option(help: "Agents' metrics interval, in seconds (their spool is on).")
    var metricsInterval = 1

    @Option(help: "The vigil-agent executable (default: beside this one).")
    var agentExecutable: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (2...9).contains(self.servers), (1...2000).contains(self.agents), (1...100).contains(self.kills),
              (0...1000).contains(self.chatClients), (10...60_000).contains(self.chatIntervalMs), (1...60).contains(self.metricsInterval) else {
            throw ValidationError("--servers 2...9, --agents 1...2000, --kills 1...100, --chat-clients 0...1000, --chat-interval-ms 10...60000, --metrics-interval 1...60")
        }
    }

    struct Round: Codable {
        var kill: Int
        var newLeaderMs: Double
        var agentsMoved: Int
        var reregisterP50Ms: Double
        var reregisterMaxMs: Double
        enum CodingKeys: String, CodingKey {
            case kill
            case newLeaderMs = "new_leader_ms"
            case agentsMoved = "agents_moved"
            case reregisterP50Ms = "reregister_p50_ms"
            case reregisterMaxMs = "reregister_max_ms"
        }
    }

    struct Report: Codable {
        var servers: Int
        var agents: Int
        var kills: Int
        var rounds: [Round]
        var newLeaderP50Ms: Double
        var newLeaderMaxMs: Double
        var reregisterP50Ms: Double
        var reregisterP99Ms: Double
        var reregisterMaxMs: Double
        var falseDown: Int
        var chat: ClusterChat.Figures
        /// Hosts whose raw history over the run was read, and what it showed.
        var historyHosts: Int
        /// Missing sample times (a step longer than 1.5 metrics intervals), over all hosts.
        var sampleGaps: Int
        var sampleDuplicates: Int
        enum CodingKeys: String, CodingKey {
            case servers, agents, kills, rounds, chat
            case historyHosts = "history_hosts"
            case sampleGaps = "sample_gaps"
            case sampleDuplicates = "sample_duplicates"
            case newLeaderP50Ms = "new_leader_p50_ms"
            case newLeaderMaxMs = "new_leader_max_ms"
            case reregisterP50Ms = "reregister_p50_ms"
            case reregisterP99Ms = "reregister_p99_ms"
            case reregisterMaxMs = "reregister_max_ms"
            case falseDown = "false_down"
        }
    }

    private struct ClusterView: Decodable {
        struct Leader: Decodable { var member_id: String; var epoch: Int }
        var leader: Leader?
        var leading: Bool
    }

    private struct AgentView: Decodable {
        var hostname: String
        var connected: Bool
        /// The member holding the host: every member lists every member's hosts (the live view).
        var member: String?
    }

    private struct EventView: Decodable {
        var hostname: String
        var to: String
    }

    private struct HistoryView: Decodable {
        struct Point: Decodable { var t: Double }
        var points: [Point]
    }

    func run() async throws {
        Cleanup.shared.installSignalHandlers()
        let progress = self.common.progressPrinter()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let postgres = try await LocalPostgres.start(durable: true, maxConnections: 100 + self.servers * 20)
        Cleanup.shared.add(directory: postgres.directory.path)
        do {
            try await postgres.createDatabase("vigil")
            let report = try await self.measure(postgres: postgres, group: group, progress: progress)
            await postgres.stop()
            try self.common.print(report, table: Self.table)
        } catch {
            await postgres.stop()
            throw error
        }
    }

    private func environment(_ postgres: LocalPostgres, member: Int) -> [String: String] {
        [
            "VIGIL_STORE_BACKEND": "postgres",
            "VIGIL_STORE_POSTGRES_URL": postgres.url(database: "vigil") + "?sslmode=disable",
            "VIGIL_CLUSTER_MEMBER_ID": "member-\(member)",
            "VIGIL_HEARTBEAT_INTERVAL": "1s",
            "VIGIL_AGENTS_OPEN_ENROLLMENT": "true",
            "VIGIL_LOG_LEVEL": "warning",
        ]
    }

    private func measure(postgres: LocalPostgres, group: MultiThreadedEventLoopGroup, progress: @Sendable (String) -> Void) async throws -> Report {
        var servers: [ServerProcess?] = []
        for index in 0..<self.servers {
            servers.append(try await ServerProcess.start(executable: self.common.executable, environment: self.environment(postgres, member: index)))
        }
        defer { for server in servers.compactMap({ $0 }) { Task { await server.stop(timeout: .seconds(5)); server.removeDirectory() } } }
        progress("\(self.servers) servers up on one PostgreSQL")

        // Agents, each listing every server in a rotated order.
        let agentPath = self.agentExecutable ?? URL(fileURLWithPath: self.common.executable).deletingLastPathComponent().appendingPathComponent("vigil-agent").path
        let directory = NSTemporaryDirectory() + "vigil-bench-cluster-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        Cleanup.shared.add(directory: directory)
        var agentProcesses: [Process] = []
        defer {
            for process in agentProcesses where process.isRunning { process.terminate() }
            try? FileManager.default.removeItem(atPath: directory)
        }
        let addresses = servers.map { "127.0.0.1:\($0!.agentPort)" }
        for index in 0..<self.agents {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: agentPath)
            var arguments: [String] = []
            for offset in 0..<addresses.count { arguments += ["--server", addresses[(index + offset) % addresses.count]] }
            process.arguments = arguments + ["--no-tls", "--hostname", "cluster-\(index)", "--metrics-interval", "\(self.metricsInterval)", "--log-level", "warning"]
            // Each agent spools while no server takes its samples: the history must have no gap.
            process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VIGIL_") }
                .merging(["VIGIL_SPOOL_DIR": "\(directory)/spool-\(index)"]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
            Cleanup.shared.add(pid: process.processIdentifier)  // killed too when the bench is interrupted
            agentProcesses.append(process)
        }

        var clients: [HTTPClient?] = []
        for server in servers { clients.append(try await HTTPClient.connect(group: group, port: server!.httpPort)) }
        let hosts = Set((0..<self.agents).map { "cluster-\($0)" })
        _ = try await Self.poll("every agent registered", timeout: .seconds(300)) { () -> Bool? in
            var connected: Set<String> = []
            for client in clients.compactMap({ $0 }) {
                for agent in try await client.getJSON([AgentView].self, "/api/agents") where agent.connected { connected.insert(agent.hostname) }
            }
            return connected.isSuperset(of: hosts) ? true : nil
        }
        progress("\(self.agents) agents registered")
        let runStart = Date().timeIntervalSince1970

        let chat = ClusterChat(count: self.chatClients, servers: addresses.compactMap(ServerAddress.init(parsing:)), group: group)
        var chatting: Task<Void, Never>?
        if self.chatClients > 0 {
            try await chat.start(timeout: .seconds(60))
            // A client's mailbox row is written by its server's group commit just after the register
            // reply: a message from another member that arrives sooner is refused as
            // unknown_recipient (docs/OPERATIONS.md §15). Give the rows a moment.
            try await Task.sleep(for: .seconds(1))
            chatting = Task { [interval = Duration.milliseconds(self.chatIntervalMs)] in await chat.send(every: interval) }
            progress("\(self.chatClients) chat clients registered and sending")
        }

        var rounds: [Round] = []
        var allReregister: [Double] = []
        for kill in 1...self.kills {
            // Who leads, and which hosts it holds.
            let leaderID = try await Self.poll("a leader", timeout: .seconds(30)) { () -> String? in
                for client in clients.compactMap({ $0 }) {
                    if let view = try? await client.getJSON(ClusterView.self, "/api/cluster"), view.leading { return view.leader?.member_id }
                }
                return nil
            }
            guard let leaderIndex = (0..<self.servers).first(where: { "member-\($0)" == leaderID }), let leader = servers[leaderIndex],
                  let leaderClient = clients[leaderIndex] else { throw BenchmarkError("leader \(leaderID) is not one of ours") }
            // Its own hosts: every member lists all of the cluster's, each with the member holding it.
            let held = Set(try await leaderClient.getJSON([AgentView].self, "/api/agents").filter { $0.connected && ($0.member ?? leaderID) == leaderID }.map(\.hostname))
            let survivors = (0..<self.servers).filter { $0 != leaderIndex }.compactMap { index in clients[index].map { (client: $0, id: "member-\(index)") } }

            let killed = ContinuousClock.now
            killAndReap(leader.pid)
            await leaderClient.close()
            clients[leaderIndex] = nil
            servers[leaderIndex] = nil

            var newLeaderMs: Double?
            var seen: [String: Double] = [:]
            let deadline = killed + .seconds(60)
            while ContinuousClock.now < deadline, newLeaderMs == nil || seen.count < held.count {
                let elapsed = Self.ms(ContinuousClock.now - killed)
                for (client, memberID) in survivors {
                    if newLeaderMs == nil, let view = try? await client.getJSON(ClusterView.self, "/api/cluster", timeout: .seconds(2)),
                       view.leading, view.leader?.member_id != leaderID {
                        newLeaderMs = elapsed
                    }
                    if seen.count < held.count, let agents = try? await client.getJSON([AgentView].self, "/api/agents", timeout: .seconds(2)) {
                        // Registered with this survivor itself (not another's relayed view of it).
                        for agent in agents where agent.connected && (agent.member ?? memberID) == memberID && held.contains(agent.hostname) && seen[agent.hostname] == nil {
                            seen[agent.hostname] = elapsed
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            guard let newLeaderMs, seen.count == held.count else {
                throw BenchmarkError("round \(kill): after 60 s, new leader \(newLeaderMs.map { "\($0) ms" } ?? "none"), \(seen.count) of \(held.count) agents back")
            }
            let times = seen.values.sorted()
            allReregister += times
            rounds.append(Round(kill: kill, newLeaderMs: newLeaderMs, agentsMoved: held.count,
                                reregisterP50Ms: Self.percentile(times, 50), reregisterMaxMs: times.last ?? 0))
            progress("kill \(kill): \(leaderID) killed; new leader after \(Int(newLeaderMs)) ms; \(held.count) agents back, max \(Int(times.last ?? 0)) ms")

            // The dead member comes back (same id) before the next round.
            // On its old ports, as a restarted server would be: agents list those addresses.
            let restarted = try await ServerProcess.start(executable: self.common.executable, environment: self.environment(postgres, member: leaderIndex),
                                                          agentPort: leader.agentPort, httpPort: leader.httpPort)
            servers[leaderIndex] = restarted
            clients[leaderIndex] = try await HTTPClient.connect(group: group, port: restarted.httpPort)
            try await Task.sleep(for: .seconds(2))
        }
        chatting?.cancel()
        await chatting?.value
        let chatFigures = await chat.settle(timeout: .seconds(60))
        await chat.stop()
        progress("chat: \(chatFigures.acknowledged) of \(chatFigures.sent) acknowledged, \(chatFigures.refused) refused, \(chatFigures.delivered) delivered, \(chatFigures.missing) missing, \(chatFigures.duplicates) twice, \(chatFigures.outOfOrder) out of order" + (chatFigures.firstProblem.map { "; first problem: \($0)" } ?? ""))
        var falseDown = 0
        if let client = clients.compactMap({ $0 }).first {
            // States are upper case in the API (`DOWN`).
            falseDown = try await client.getJSON([EventView].self, "/api/events?limit=10000").filter { $0.to.uppercased() == "DOWN" }.count
        }
        // Every host's raw history over the run, once the spools have been replayed.
        let runEnd = Date().timeIntervalSince1970 - 2 * Double(self.metricsInterval)
        try await Task.sleep(for: .seconds(5))
        var (historyHosts, gaps, duplicates) = (0, 0, 0)
        let live = clients.compactMap { $0 }
        for host in hosts.sorted() {
            let path = "/api/servers/\(host)/history?metric=memory.percent&resolution=raw&from=\(runStart)&to=\(runEnd)"
            for client in live {
                guard let history = try? await client.getJSON(HistoryView.self, path, timeout: .seconds(10)) else { continue }
                let times = history.points.map(\.t)
                historyHosts += 1
                duplicates += times.count - Set(times).count
                let step = Double(self.metricsInterval)
                gaps += zip(times, times.dropFirst()).map { max(0, Int((($1 - $0) / step).rounded()) - 1) }.reduce(0, +)
                break
            }
        }
        progress("history: \(historyHosts) hosts read, \(gaps) samples missing, \(duplicates) twice")
        for client in live { await client.close() }
        let leaders = rounds.map(\.newLeaderMs).sorted()
        let moved = allReregister.sorted()
        return Report(
            servers: self.servers, agents: self.agents, kills: self.kills, rounds: rounds,
            newLeaderP50Ms: Self.percentile(leaders, 50), newLeaderMaxMs: leaders.last ?? 0,
            reregisterP50Ms: Self.percentile(moved, 50), reregisterP99Ms: Self.percentile(moved, 99), reregisterMaxMs: moved.last ?? 0,
            falseDown: falseDown, chat: chatFigures, historyHosts: historyHosts, sampleGaps: gaps, sampleDuplicates: duplicates)
    }

    private static func poll<T>(_ what: String, timeout: Duration, _ body: () async throws -> T?) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = try? await body() { return value }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchmarkError("timed out after \(timeout) waiting for \(what)")
    }

    private static func ms(_ duration: Duration) -> Double { StoreComparison.seconds(duration) * 1000 }

    private static func percentile(_ sorted: [Double], _ p: Double) -> Double { StoreComparison.percentile(sorted, p) }

    static func table(_ report: Report) -> String {
        var lines = ["kill  new leader  agents moved  re-register p50  re-register max"]
        for round in report.rounds {
            lines.append(String(format: "%4d  %7.0f ms  %12d  %12.0f ms  %12.0f ms", round.kill, round.newLeaderMs, round.agentsMoved, round.reregisterP50Ms, round.reregisterMaxMs))
        }
        lines.append("")
        lines.append(String(format: "%d servers, %d agents, %d kills: new leader p50 %.0f ms, max %.0f ms; agents re-registered p50 %.0f ms, p99 %.0f ms, max %.0f ms; false DOWN %d",
                            report.servers, report.agents, report.kills, report.newLeaderP50Ms, report.newLeaderMaxMs,
                            report.reregisterP50Ms, report.reregisterP99Ms, report.reregisterMaxMs, report.falseDown))
        let chat = report.chat
        lines.append("chat: \(chat.clients) clients, \(chat.sent) sent, \(chat.acknowledged) acknowledged, \(chat.refused) refused, \(chat.delivered) delivered; missing \(chat.missing), twice \(chat.duplicates), out of order \(chat.outOfOrder)" + (chat.firstProblem.map { " (first problem: \($0))" } ?? ""))
        lines.append("history: \(report.historyHosts) hosts, \(report.sampleGaps) samples missing, \(report.sampleDuplicates) stored twice")
        return lines.joined(separator: "\n")
    }
}

/// SIGKILL, as a crash would.
private func killAndReap(_ pid: pid_t) {
    kill(pid, SIGKILL)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
}
