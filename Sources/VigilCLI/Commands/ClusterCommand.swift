import ArgumentParser
import Foundation
import VigilAPI

/// `vigil cluster status`: the servers sharing a database, their load, and the leader.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Look at the cluster of servers sharing one PostgreSQL database.",
        subcommands: [Status.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show every live member, its load, and the leader, from a running server.",
            discussion: """
            Exit codes: 0 a leader is known; 2 no member leads (the database may be unreachable:
            see PROBLEM); 3 the server could not be asked. The API needs a signed-in user (any role),
            as for vigil status.
            """
        )

        @OptionGroup var access: APIAccessOptions

        @Flag(help: "Print the server's JSON instead of a table.")
        var json = false

        func run() async throws {
            let data = try await self.access.get("/api/cluster", command: "vigil cluster status")
            guard let status = try? APICoding.decoder().decode(ClusterStatus.self, from: data) else {
                FileHandle.standardError.write(Data("vigil cluster status: the server did not answer with a cluster status\n".utf8))
                throw ExitCode(3)
            }
            print(self.json ? String(decoding: data, as: UTF8.self) : Self.table(status, now: Date()))
            if status.leader == nil || !status.members.contains(where: \.leader) { throw ExitCode(2) }
        }

        static func table(_ status: ClusterStatus, now: Date) -> String {
            let rows = [["MEMBER", "ROLE", "AGENTS", "CAPACITY", "AGENT ADDRESS", "HTTP ADDRESS", "LAST SEEN"]] + status.members.map { member in
                [
                    member.id + (member.id == status.memberID ? " (this)" : ""),
                    member.leader ? "leader" : "follower",
                    String(member.load), member.capacity == 0 ? "-" : String(member.capacity),
                    member.agentAddress, member.httpAddress, StatusCommand.ago(member.lastSeen, now: now),
                ]
            }
            let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
            var text = rows.map { row in
                row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces)
            }.joined(separator: "\n")
            let load = status.members.reduce(0) { $0 + $1.load }
            text += "\n\n\(status.members.count) members (\(status.backend)), \(load) agents"
            if let leader = status.leader { text += ", leader \(leader.memberID) at epoch \(leader.epoch)" } else { text += ", no leader" }
            if let problem = status.problem { text += "\nPROBLEM: \(problem)" }
            return text
        }
    }
}
