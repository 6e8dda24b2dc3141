import Foundation

/// A real `vigil server` in a temporary directory and the agents started against it, all
/// stopped (and the directory removed) by `stop()`.
struct Fleet {
    let directory: URL
    let vigil: String
    let agentBinary: String
    var server: Child
    var agentPort: Int
    var api: API
    var children: [Child] = []

    /// The CA the server made, for the agents' `--ca` (every agent of a fleet connects over TLS).
    var caFile: String { self.directory.appendingPathComponent("data/tls/ca.pem").path }

    /// - Parameter plaintextFromLoopback: Let plaintext clients on 127.0.0.1 in (the Python clients
    ///   of the original designs); otherwise the agent port speaks TLS only.
    static func start(plaintextFromLoopback: Bool = false) async throws -> Fleet {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let vigil = try Binaries.path("vigil")
        let (server, ports) = try await Self.startServer(vigil, directory: directory, agentPort: 0, plaintextFromLoopback: plaintextFromLoopback)
        return Fleet(directory: directory, vigil: vigil, agentBinary: try Binaries.path("vigil-agent"), server: server, agentPort: ports.agent, api: API(port: ports.http))
    }

    static func startServer(_ vigil: String, directory: URL, agentPort: Int, plaintextFromLoopback: Bool = false) async throws -> (Child, (agent: Int, http: Int)) {
        let ready = directory.appendingPathComponent("ready.json")
        try? FileManager.default.removeItem(at: ready)
        let server = try Child(vigil, [
            "server", "--data-dir", directory.appendingPathComponent("data").path,
            "--agent-port", "\(agentPort)", "--http-port", "0", "--heartbeat-interval", "1s",
            "--log-level", "debug", "--ready-file", ready.path,
        ], name: "server-\(UUID().uuidString.prefix(4))", directory: directory,
        // The environment layer of the configuration: a short restart grace keeps the test quick.
        // TLS only on the agent port: every agent below must connect with the server's CA.
        environment: ["VIGIL_LIVENESS_RESTART_GRACE": "4s", "VIGIL_AGENTS_PLAINTEXT": plaintextFromLoopback ? "loopback" : "never"])
        let ports = try await waitFor("the server's ready file") { () -> (agent: Int, http: Int)? in
            let data = try Data(contentsOf: ready)
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Int]
            guard let agent = json?["agent_port"], let http = json?["http_port"] else { return nil }
            return (agent, http)
        }
        return (server, ports)
    }

    func key(for host: String) throws -> String {
        let (status, output) = try run(self.vigil, ["keys", "create", "--key-only", "--host", host, "--data-dir", self.directory.appendingPathComponent("data").path])
        guard status == 0 else { throw E2EError("vigil keys create exited \(status)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    mutating func agent(_ name: String, key: String, extraArguments: [String] = []) throws -> Child {
        let child = try Child(self.agentBinary, ["--server", "127.0.0.1:\(self.agentPort)", "--ca", self.caFile, "--key", key, "--hostname", name, "--backoff-initial", "0.2", "--log-level", "debug"] + extraArguments, name: "agent-\(name)-\(self.children.count)", directory: self.directory)
        self.children.append(child)
        return child
    }

    func stop() {
        self.children.forEach { $0.stop() }
        self.server.stop()
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// The first event for `host` into `state` after `since`.
    func event(_ host: String, _ state: String, after since: Date, timeout: Duration = .seconds(10)) async throws -> API.Event {
        try await waitFor("\(host) \(state)", timeout: timeout) {
            try await self.api.events().first { $0.hostname == host && $0.to == state && $0.at >= since }
        }
    }
}
