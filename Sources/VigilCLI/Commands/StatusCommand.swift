import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import VigilAPI

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every agent and its state, from a running server.",
        discussion: """
        Exit codes follow the Nagios convention, so monitoring scripts can use them directly:
        0 every host is up (or cleanly stopped); 1 some host is SUSPECT; 2 some host is DOWN;
        3 the server could not be asked (unreachable, or the sign-in failed).

        The API needs a signed-in user (any role): give --user NAME with the password in the
        VIGIL_PASSWORD environment variable (never on the command line), or an access token with
        --token or VIGIL_TOKEN. VIGIL_USER may stand for --user.
        """
    )

    @OptionGroup var access: APIAccessOptions

    @Flag(help: "Print the server's JSON instead of a table.")
    var json = false

    func run() async throws {
        let data = try await self.access.get("/api/agents", command: "vigil status")
        guard let agents = try? APICoding.decoder().decode([AgentStatus].self, from: data) else {
            FileHandle.standardError.write(Data("vigil status: the server did not answer with an agent list\n".utf8))
            throw ExitCode(3)
        }
        if self.json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(Self.table(agents, now: Date()))
        }
        if agents.contains(where: { $0.state == .down }) { throw ExitCode(2) }
        if agents.contains(where: { $0.state == .suspect }) { throw ExitCode(1) }
    }

    static func table(_ agents: [AgentStatus], now: Date) -> String {
        guard !agents.isEmpty else { return "no agents have registered yet" }
        let rows = [["HOST", "STATE", "SINCE", "LAST SEEN", "ADDRESS", "VERSION"]] + agents.map { agent in
            [
                agent.hostname, agent.state.rawValue,
                Self.ago(agent.stateSince, now: now),
                agent.lastSeen.map { Self.ago($0, now: now) } ?? "never",
                agent.address ?? "-", agent.agentVersion ?? "-",
            ]
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        let summary = Dictionary(grouping: agents, by: \.state).map { "\($0.value.count) \($0.key.rawValue)" }.sorted().joined(separator: ", ")
        return rows.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n\n\(agents.count) hosts: \(summary)"
    }

    static func ago(_ date: Date, now: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        switch seconds {
        case ..<60: return "\(seconds)s ago"
        case ..<3600: return "\(seconds / 60)m ago"
        case ..<86400: return "\(seconds / 3600)h ago"
        default: return "\(seconds / 86400)d ago"
        }
    }
}
