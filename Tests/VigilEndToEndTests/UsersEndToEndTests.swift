import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `vigil users` on a running server's data directory, and the first admin's one-time password in
/// the log of a real `vigil server`.
@Suite("vigil users end to end", .serialized)
struct UsersEndToEndTests {
    /// Runs `vigil ARGS --data-dir <server's>` with `input` on standard input; returns status and stdout + stderr.
    static func users(_ server: ToolServer, _ arguments: [String], input: String = "") throws -> (status: Int32, output: String) {
        let process = Process()
        let output = Pipe()
        let stdin = Pipe()
        process.executableURL = URL(fileURLWithPath: server.vigil)
        process.arguments = ["users"] + arguments + ["--data-dir", server.dataDirectory.path]
        process.standardOutput = output
        process.standardError = output
        process.standardInput = stdin
        process.environment = ProcessInfo.processInfo.environment.merging(["VIGIL_AUTH_BCRYPT_COST": "4"]) { $1 }
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func status(_ port: Int, _ method: String, _ path: String, token: String, body: String? = nil) async throws -> Int {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    @Test("add, list, set-role, set-password, remove: the running server follows; passwords never on argv; the last admin stays")
    func manageUsers() async throws {
        let server = try await ToolServer.start(environment: ["VIGIL_AUTH_RELOAD_INTERVAL": "200ms"], openEnrollment: false)
        defer { server.stop() }
        let port = server.httpPort

        let added = try Self.users(server, ["add", "carol", "--role", "viewer", "--password-stdin"], input: "carol-password-1\n")
        #expect(added.status == 0, "\(added.output)")
        #expect(!added.output.contains("carol-password-1"))
        let carol = try await E2EAuth.accessToken(port: port, name: "carol", password: "carol-password-1")
        #expect(try await Self.status(port, "GET", "/api/agents", token: carol) == 200)
        #expect(try await Self.status(port, "POST", "/api/messages", token: carol, body: #"{"content": "hi"}"#) == 403)

        let list = try Self.users(server, ["list"])
        #expect(list.status == 0)
        #expect(list.output.contains("carol") && list.output.contains("viewer") && list.output.contains("admin"))
        #expect(!list.output.contains("$2b$"), "never a hash")
        let json = try Self.users(server, ["list", "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]]
        #expect(rows?.map { $0["name"] as? String } == ["admin", "carol"])

        #expect(try Self.users(server, ["set-role", "carol", "operator"]).status == 0)
        _ = try await waitFor("carol's new role on the running server", timeout: .seconds(10)) {
            try await Self.status(port, "POST", "/api/messages", token: carol, body: #"{"content": "hi"}"#) == 201 ? true : nil
        }

        let generated = try Self.users(server, ["add", "dave", "--role", "admin", "--generate"])
        #expect(generated.status == 0, "\(generated.output)")
        let davePassword = try #require(generated.output.split(separator: "\n").last.map(String.init))
        #expect(davePassword.count == 20)
        _ = try await E2EAuth.accessToken(port: port, name: "dave", password: davePassword)

        #expect(try Self.users(server, ["set-password", "carol", "--password-stdin"], input: "carol-password-2\n").status == 0)
        _ = try await waitFor("carol's session to end with her new password", timeout: .seconds(10)) {
            try await Self.status(port, "GET", "/api/agents", token: carol) == 401 ? true : nil
        }
        let carolAgain = try await E2EAuth.accessToken(port: port, name: "carol", password: "carol-password-2")

        #expect(try Self.users(server, ["add", "erin", "--role", "viewer", "--password-stdin"], input: "short\n").status == 64)
        #expect(try Self.users(server, ["add", "carol", "--role", "viewer", "--password-stdin"], input: "carol-password-3\n").status == 1)
        #expect(try Self.users(server, ["add", "frank", "--role", "boss", "--password-stdin"], input: "frank-password-1\n").status == 64)
        #expect(try Self.users(server, ["set-role", "nobody", "viewer"]).status == 1)

        #expect(try Self.users(server, ["remove", "carol"]).status == 0)
        _ = try await waitFor("carol's token to be refused after her removal", timeout: .seconds(10)) {
            try await Self.status(port, "GET", "/api/agents", token: carolAgain) == 401 ? true : nil
        }
        #expect(try Self.users(server, ["remove", "dave"]).status == 0)
        let last = try Self.users(server, ["remove", "admin"])
        #expect(last.status == 1 && last.output.contains("last admin"))
        #expect(try Self.users(server, ["set-role", "admin", "viewer"]).status == 1)
    }

    @Test("a real server without a preset password logs the generated one once; a restart does not")
    func generatedPasswordOnce() async throws {
        var server = try await ToolServer.start(environment: ["VIGIL_AUTH_INITIAL_ADMIN_PASSWORD": ""], openEnrollment: false)
        defer { server.stop() }
        let log = server.server.output
        let lines = log.split(separator: "\n").filter { $0.contains("will not be shown again") }
        #expect(lines.count == 1)
        let line = try #require(lines.first.map(String.init))
        let password = try #require(line.components(separatedBy: "with password ").last?.split(separator: " ").first.map(String.init))
        _ = try await E2EAuth.accessToken(port: server.httpPort, name: "admin", password: password)
        try await server.restart()
        #expect(!server.server.output.contains("will not be shown again"))
        _ = try await E2EAuth.accessToken(port: server.httpPort, name: "admin", password: password)
    }
}
