import Foundation
import VigilConnection

/// A real `vigil server` started as a child process in a fresh temporary data directory, on
/// ports chosen by the kernel (`--agent-port 0 --http-port 0`), found through `--ready-file`.
///
/// Its standard output and error go to `server.log` in the directory, whose tail is shown when
/// the server fails. ``stop()`` ends it with SIGTERM (a graceful shutdown that writes what is
/// still queued) and deletes the directory; SIGKILL follows if it takes too long.
final class ServerProcess: Sendable {
    let pid: pid_t
    let directory: String
    let agentPort: Int
    let httpPort: Int
    /// With `tls`: TLS pinned to the CA the server wrote (`<data_dir>/tls/ca.pem`); else `nil`.
    let clientTLS: ClientTLS?

    var dataDirectory: String { self.directory + "/data" }

    /// The first admin's password on every server started here (a throwaway server: no secret).
    static let adminPassword = "vigil-bench-admin"

    var logPath: String { self.directory + "/server.log" }

    struct Ports: Decodable {
        var agentPort: Int
        var httpPort: Int
        enum CodingKeys: String, CodingKey {
            case agentPort = "agent_port"
            case httpPort = "http_port"
        }
    }

    /// The `vigil` executable beside this one (both are products of the same build).
    static func defaultExecutable() -> String {
        let own = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let fromProc = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).map(URL.init(fileURLWithPath:))
        return ((fromProc ?? own).deletingLastPathComponent().appendingPathComponent("vigil")).path
    }

    /// Starts the server and waits (bounded) until both listeners are bound.
    ///
    /// - Parameters:
    ///   - executable: The `vigil` binary.
    ///   - environment: `VIGIL_*` settings; every inherited `VIGIL_*` variable is dropped first so a
    ///     developer's own configuration cannot change the figures.
    ///   - startTimeout: How long to wait for the ready file.
    ///   - tls: The agent port requires TLS (`VIGIL_TLS_ENABLED=true`, `VIGIL_AGENTS_PLAINTEXT=never`);
    ///     ``clientTLS`` then pins the CA the server creates at `<data_dir>/tls/ca.pem`.
    ///   - agentPort, httpPort: Ports to bind (0: any free port), e.g. a killed server's, to start it again where its clients look.
    static func start(executable: String, environment: [String: String], startTimeout: Duration = .seconds(60), tls: Bool = false,
                      agentPort: Int = 0, httpPort: Int = 0) async throws -> ServerProcess {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchmarkError("no vigil executable at \(executable); build it with `swift build -c release --product vigil` in the same build directory, or pass --vigil PATH")
        }
        let temporary = NSTemporaryDirectory().hasSuffix("/") ? String(NSTemporaryDirectory().dropLast()) : NSTemporaryDirectory()
        var template = Array((temporary + "/vigil-bench.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw BenchmarkError("cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: made)
        Cleanup.shared.add(directory: directory)
        let readyFile = directory + "/ready.json"
        let logPath = directory + "/server.log"

        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VIGIL_") }
        // The first admin, whom HTTPClient signs in as; the cheapest bcrypt (sign-in is not measured).
        env["VIGIL_AUTH_INITIAL_ADMIN_PASSWORD"] = Self.adminPassword
        env["VIGIL_AUTH_BCRYPT_COST"] = "4"
        // A benchmark may run longer than the default 15 min access token: no refresh in the middle.
        env["VIGIL_AUTH_ACCESS_TOKEN_TTL"] = "24h"
        // A storm of thousands connecting in the same instant queues behind the accept loop and the
        // handshakes for longer than one real agent ever waits; the load generator must not give up
        // (nor the server close) before the last is served. The same for plaintext and TLS runs.
        env["VIGIL_AGENTS_HANDSHAKE_TIMEOUT"] = "60s"
        env["VIGIL_TLS_HANDSHAKE_TIMEOUT"] = "60s"
        env.merge(environment) { _, new in new }
        if tls {
            env["VIGIL_TLS_ENABLED"] = "true"
            env["VIGIL_AGENTS_PLAINTEXT"] = "never"
        }
        var arguments = [executable, "server", "--data-dir", directory + "/data", "--agent-port", String(agentPort), "--http-port", String(httpPort), "--ready-file", readyFile]
        // If the benchmark is killed outright (SIGKILL, a CI timeout), the kernel kills the server too.
        // The parent-death signal fires when the *thread* that spawned the child ends, so the spawn
        // runs on a thread of its own that then sleeps until the benchmark exits (a thread of
        // Swift's pool, even the main actor's on Linux, may end while the server is needed).
        let setpriv = "/usr/bin/setpriv"
        if FileManager.default.isExecutableFile(atPath: setpriv) {
            arguments = [setpriv, "--pdeathsig", "KILL", "--"] + arguments
        }

        let pid: pid_t
        do {
            pid = try await spawnOnDedicatedThread(arguments, environment: env, output: logPath)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            Cleanup.shared.remove(directory: directory)
            throw error
        }
        Cleanup.shared.add(pid: pid)

        let ports: Ports
        var clientTLS: ClientTLS?
        do {
            ports = try await waitFor("the server's ready file (\(readyFile))", timeout: startTimeout) { () throws -> Ports? in
                if let exit = Self.reap(pid) {
                    throw BenchmarkError("vigil server exited during start-up (\(exit)):\n\(Self.tail(of: logPath))")
                }
                guard let data = FileManager.default.contents(atPath: readyFile) else { return nil }
                return try JSONDecoder().decode(Ports.self, from: data)
            }
            if tls {
                // The server makes its CA on first start with TLS on; the clients pin it.
                let caPath = directory + "/data/tls/ca.pem"
                _ = try await waitFor("the server's CA (\(caPath))", timeout: startTimeout) { () throws -> Bool? in
                    FileManager.default.fileExists(atPath: caPath) ? true : nil
                }
                do {
                    clientTLS = ClientTLS(trust: try TLSTrust.caFile(caPath), handshakeTimeout: .seconds(60))
                } catch {
                    throw BenchmarkError("\(error)")
                }
            }
        } catch {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            Cleanup.shared.remove(pid: pid)
            try? FileManager.default.removeItem(atPath: directory)
            Cleanup.shared.remove(directory: directory)
            throw error
        }
        return ServerProcess(pid: pid, directory: directory, agentPort: ports.agentPort, httpPort: ports.httpPort, clientTLS: clientTLS)
    }

    private init(pid: pid_t, directory: String, agentPort: Int, httpPort: Int, clientTLS: ClientTLS?) {
        self.pid = pid
        self.directory = directory
        self.agentPort = agentPort
        self.httpPort = httpPort
        self.clientTLS = clientTLS
    }

    /// Throws if the server has exited (with the tail of its log).
    func checkAlive() throws {
        if let exit = Self.reap(self.pid) {
            Cleanup.shared.remove(pid: self.pid)
            throw BenchmarkError("vigil server died (\(exit)):\n\(Self.tail(of: self.logPath))")
        }
    }

    var stats: ProcessStats? { ProcessStats.read(pid: self.pid) }

    /// SIGTERM, then SIGKILL after `timeout`.
    ///
    /// - Returns: Seconds the graceful shutdown took, or `nil` if it had to be killed (or was already gone).
    @discardableResult
    func stop(timeout: Duration = .seconds(60)) async -> Double? {
        defer { Cleanup.shared.remove(pid: self.pid) }
        let watch = Stopwatch()
        guard kill(self.pid, SIGTERM) == 0 else { return nil }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if Self.reap(self.pid) != nil { return watch.seconds }
            try? await Task.sleep(for: .milliseconds(20))
        }
        kill(self.pid, SIGKILL)
        var status: Int32 = 0
        waitpid(self.pid, &status, 0)
        return nil
    }

    /// Deletes the temporary directory (data and log).
    func removeDirectory() {
        try? FileManager.default.removeItem(atPath: self.directory)
        Cleanup.shared.remove(directory: self.directory)
    }

    /// The last lines of the server's log.
    static func tail(of path: String, lines: Int = 30) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "(no log)" }
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// The exit description if the child has exited (reaping it), else `nil`.
    private static func reap(_ pid: pid_t) -> String? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return result == -1 ? "not a child any more" : nil }
        let signal = status & 0x7F
        return signal == 0 ? "exit status \((status >> 8) & 0xFF)" : "killed by signal \(signal)"
    }
}

/// Runs ``spawn(_:environment:output:)`` on a new thread that stays alive (asleep) until the
/// process exits, so that a `--pdeathsig` child is signalled only when the benchmark itself ends.
private func spawnOnDedicatedThread(_ arguments: [String], environment: [String: String], output: String) async throws -> pid_t {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<pid_t, any Error>) in
        let thread = Thread {
            continuation.resume(with: Result { try spawn(arguments, environment: environment, output: output) })
            while true { sleep(3600) }
        }
        thread.name = "vigil-bench spawner"
        thread.start()
    }
}

/// posix_spawn with standard output and error appended to `output` and standard input from /dev/null.
private func spawn(_ arguments: [String], environment: [String: String], output: String) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)

    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
    guard result == 0 else {
        throw BenchmarkError("cannot start \(arguments[0]): \(String(cString: strerror(result)))")
    }
    return pid
}
