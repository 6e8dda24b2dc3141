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

    @Option(help: "The server's HTTP address (also VIGIL_URL).")
    var server: String?

    @Option(help: "Sign in as this user (also VIGIL_USER); the password is read from VIGIL_PASSWORD.")
    var user: String?

    @Option(help: "An access token to use instead of signing in (also VIGIL_TOKEN).")
    var token: String?

    @Flag(help: "Print the server's JSON instead of a table.")
    var json = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let base = self.server ?? environment["VIGIL_URL"] ?? "http://127.0.0.1:5000"
        let root = base.hasSuffix("/") ? String(base.dropLast()) : base
        guard let url = URL(string: root + "/api/agents") else {
            throw ValidationError("invalid --server \(base)")
        }
        let data: Data
        do {
            let (token, signedIn) = try await self.accessToken(root: root, environment: environment)
            var request = URLRequest(url: url)
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            let (body, response) = try await URLSession.shared.data(for: request)
            // A session this run started ends with it (scripts run often: no pile of live sessions).
            if signedIn {
                var logout = URLRequest(url: URL(string: root + "/api/auth/logout")!)
                logout.httpMethod = "POST"
                logout.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
                _ = try? await URLSession.shared.data(for: logout)
            }
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            guard status == 200 else {
                let hint = status == 401 ? " (the token is invalid or expired; sign in again)" : ""
                FileHandle.standardError.write(Data("vigil status: \(url) answered HTTP \(status)\(hint)\n".utf8))
                throw ExitCode(3)
            }
            data = body
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("vigil status: cannot reach \(url): \(error.localizedDescription)\n".utf8))
            throw ExitCode(3)
        }
        guard let agents = try? APICoding.decoder().decode([AgentStatus].self, from: data) else {
            FileHandle.standardError.write(Data("vigil status: \(url) did not answer with an agent list\n".utf8))
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

    /// The access token: --token or VIGIL_TOKEN as given, or one from signing in as --user with VIGIL_PASSWORD.
    private func accessToken(root: String, environment: [String: String]) async throws -> (token: String, signedIn: Bool) {
        if let token = self.token ?? environment["VIGIL_TOKEN"], !token.isEmpty { return (token, false) }
        guard let user = self.user ?? environment["VIGIL_USER"], !user.isEmpty else {
            FileHandle.standardError.write(Data("vigil status: the API needs a signed-in user: give --user NAME with VIGIL_PASSWORD set, or --token (or VIGIL_TOKEN)\n".utf8))
            throw ExitCode(3)
        }
        guard let password = environment["VIGIL_PASSWORD"] else {
            FileHandle.standardError.write(Data("vigil status: set VIGIL_PASSWORD to the password of \(user) (it is never taken on the command line)\n".utf8))
            throw ExitCode(3)
        }
        var request = URLRequest(url: URL(string: root + "/api/auth/login")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["username": user, "password": password])
        let (body, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200, let token = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["access_token"] as? String else {
            let code = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error"] as? String
            FileHandle.standardError.write(Data("vigil status: signing in as \(user) failed: HTTP \(status)\(code.map { " \($0)" } ?? "")\n".utf8))
            throw ExitCode(3)
        }
        return (token, true)
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
