import Foundation

/// A real `vigil server` for the people's tools (`vigil chat`, `vigil send`, `vigil send-file`):
/// open enrollment by default, settings from the environment, restartable on the same port and data.
struct ToolServer {
    let directory: URL
    let vigil: String
    var server: Child
    let agentPort: Int
    let httpPort: Int
    let environment: [String: String]
    let openEnrollment: Bool

    var dataDirectory: URL { self.directory.appendingPathComponent("data") }
    var filesDirectory: URL { self.dataDirectory.appendingPathComponent("files") }
    var address: String { "127.0.0.1:\(self.agentPort)" }
    /// The CA the server made: the tools and agents started here connect over TLS with it.
    var caFile: String { self.dataDirectory.appendingPathComponent("tls/ca.pem").path }
    var api: API { API(port: self.httpPort) }

    /// - Parameters:
    ///   - environment: Configuration through the environment, e.g. `VIGIL_FILES_MAX_FILE_SIZE`.
    ///   - plaintextFromLoopback: Let plaintext clients on 127.0.0.1 in (the Python clients of the
    ///     original designs); otherwise the agent port speaks TLS only.
    static func start(environment: [String: String] = [:], openEnrollment: Bool = true, plaintextFromLoopback: Bool = false) async throws -> ToolServer {
        let environment = environment.merging(["VIGIL_AGENTS_PLAINTEXT": plaintextFromLoopback ? "loopback" : "never"]) { given, _ in given }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-tools-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let vigil = try Binaries.path("vigil")
        let (server, ports) = try await Self.launch(vigil, directory: directory, agentPort: 0, httpPort: 0, environment: environment, openEnrollment: openEnrollment)
        return ToolServer(directory: directory, vigil: vigil, server: server, agentPort: ports.agent, httpPort: ports.http, environment: environment, openEnrollment: openEnrollment)
    }

    private static func launch(_ vigil: String, directory: URL, agentPort: Int, httpPort: Int, environment: [String: String], openEnrollment: Bool) async throws -> (Child, (agent: Int, http: Int)) {
        let ready = directory.appendingPathComponent("ready.json")
        try? FileManager.default.removeItem(at: ready)
        let server = try Child(vigil, [
            "server", "--data-dir", directory.appendingPathComponent("data").path,
            "--agent-port", "\(agentPort)", "--http-port", "\(httpPort)", "--heartbeat-interval", "1s",
            "--log-level", "info", "--ready-file", ready.path,
        ] + (openEnrollment ? ["--open-enrollment"] : []),
        name: "server-\(UUID().uuidString.prefix(4))", directory: directory, environment: environment)
        let ports = try await waitFor("the server's ready file", timeout: .seconds(30)) { () -> (agent: Int, http: Int)? in
            let data = try Data(contentsOf: ready)
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Int]
            guard let agent = json?["agent_port"], let http = json?["http_port"] else { return nil }
            return (agent, http)
        }
        return (server, ports)
    }

    /// Kills the server (SIGKILL) and starts it again on the same ports and data.
    mutating func restart(downtime: Duration = .zero) async throws {
        self.server.stop()
        try await Task.sleep(for: downtime)
        (self.server, _) = try await Self.launch(self.vigil, directory: self.directory, agentPort: self.agentPort, httpPort: self.httpPort, environment: self.environment, openEnrollment: self.openEnrollment)
    }

    /// Runs `vigil ARGS --server <this server>` to completion; returns its status and its output
    /// (standard output and error together).
    func vigil(_ arguments: [String], timeout: Duration = .seconds(30)) async throws -> (status: Int32, output: String) {
        let child = try self.start(arguments)
        defer { child.stop() }
        guard let status = try await child.waitForExit(timeout: timeout) else {
            throw E2EError("vigil \(arguments.joined(separator: " ")) still running after \(timeout); output:\n\(child.output)")
        }
        return (status, child.output)
    }

    /// Starts `vigil ARGS --server <this server>` with its output in a log file.
    func start(_ arguments: [String]) throws -> Child {
        try Child(self.vigil, arguments + ["--server", self.address, "--ca", self.caFile], name: "\(arguments.first ?? "vigil")-\(UUID().uuidString.prefix(6))", directory: self.directory)
    }

    /// `vigil keys create --host NAME` on this server's data.
    func key(for name: String) throws -> String {
        let (status, output) = try run(self.vigil, ["keys", "create", "--key-only", "--host", name, "--data-dir", self.dataDirectory.path])
        guard status == 0 else { throw E2EError("vigil keys create exited \(status)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The server's resident memory, from /proc.
    var residentBytes: UInt64? {
        guard let status = try? String(contentsOfFile: "/proc/\(self.server.pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = UInt64(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kilobytes * 1024
    }

    func stop() {
        self.server.stop()
        try? FileManager.default.removeItem(at: self.directory)
    }
}
