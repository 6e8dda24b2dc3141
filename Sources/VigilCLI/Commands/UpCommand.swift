import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import VigilAgent
import VigilCollectors
import VigilConnection
import VigilServer
import VigilStore

struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run a server and an agent for this host in one process, with embedded storage.",
        discussion: """
        The quickest way to see Vigil work. The local agent gets its own key, created on first use \
        and kept in the data directory (local-agent.key, mode 0600); no open enrollment is needed.
        Exit codes: 0 clean shutdown; 64 bad usage or configuration; 1 any other failure.
        """
    )

    @OptionGroup var options: ServerOptions

    @Option(help: "Write the bound ports as JSON to this file once listening.")
    var readyFile: String?

    func run() async throws {
        let configuration = try await self.options.loadConfiguration()
        let settings = configuration.settings
        let directory = try self.options.prepareDataDirectory(settings)
        // One server per data directory, for the life of this process (released at exit, kill -9 too).
        // `vigil reload` and `vigil tls rotate` find this process through the lock and send SIGHUP;
        // until the reload service takes the signal (once the service group runs), its default
        // action would end the server. Ignored, a reload sent that early times out instead.
        signal(SIGHUP, SIG_IGN)
        let lock = try DataDirectoryLock.acquire(in: directory)
        defer { withExtendedLifetime(lock) {} }
        let logLevel = LiveLogLevel(settings.logLevel)
        let logger = Logging.bootstrap(level: logLevel)
        let store = try SQLiteStore(directory: directory)
        let hostname = ProcessInfo.processInfo.hostName
        let key = try await Self.localAgentKey(store: store, directory: settings.dataDirectory, hostname: hostname)

        let (ready, readyContinuation) = AsyncStream<VigilServer.BoundPorts>.makeStream()
        let readyFile = self.readyFile
        let server = try await VigilServer(settings: settings, store: store, logger: logger, configuration: configuration, logLevel: logLevel) { ports in
            readyContinuation.yield(ports)
            readyContinuation.finish()
        }
        let agentLogger = Logger(label: "vigil-agent")
        // On the first start the admin's generated password is shown here too (and never again).
        let signIn = server.users.generatedAdmin.map { "  Sign in:  \($0.name) / \($0.password)   (first start: shown once; change it in the dashboard or with vigil users set-password \($0.name))\n" } ?? ""
        let agentService = LocalAgentService(settings: settings, key: key, hostname: hostname, ready: ready, logger: agentLogger) { ports in
            if let readyFile { writeReadyFile(readyFile, ports: ports) }
            let httpHost = settings.httpHost == "0.0.0.0" ? "127.0.0.1" : settings.httpHost
            // Unbuffered: under a service manager standard output is a pipe or a file, and a
            // buffered banner would not appear until exit (it carries the first admin's password).
            FileHandle.standardOutput.write(Data("""
            Vigil is up.
              Dashboard: http://\(httpHost):\(ports.httpPort)/
            \(signIn)  Health:   http://\(httpHost):\(ports.httpPort)/api/health
              Agents:   http://\(httpHost):\(ports.httpPort)/api/agents   (this host reports as \(hostname))
              Status:   VIGIL_PASSWORD=… vigil status --user NAME --server http://\(httpHost):\(ports.httpPort)
              Listener: \(settings.agentHost):\(ports.agentPort) for agents (vigil keys create --host NAME)
              Data:     \(settings.dataDirectory)
            Press Ctrl-C to stop.

            """.utf8))
        }
        let group = ServiceGroup(configuration: .init(
            services: (server.services + [agentService]).map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }

    /// The key the local agent uses: read from the data directory, or created and saved there.
    static func localAgentKey(store: any VigilStore, directory: String, hostname: String) async throws -> String {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("local-agent.key")
        let saved = try? String(contentsOf: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        if let saved {
            switch try await store.verifyKey(saved) {
            case .valid(let key) where key.hostname == hostname:
                return saved
            case .valid(let key):
                _ = try await store.revokeKey(id: key.id)  // the host was renamed: the old name's key goes
            case .revoked, .unknown, .malformed:
                break
            }
        }
        let issued = try await store.createKey(hostname: hostname)
        guard FileManager.default.createFile(atPath: path.path, contents: Data((issued.token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(path.path)")
        }
        return issued.token
    }
}

/// The in-process agent of `vigil up`: waits for the server's listeners, then runs until shutdown.
private struct LocalAgentService: Service {
    let settings: ServerSettings
    let key: String
    let hostname: String
    let ready: AsyncStream<VigilServer.BoundPorts>
    let logger: Logger
    let onReady: @Sendable (VigilServer.BoundPorts) -> Void

    func run() async throws {
        var iterator = self.ready.makeAsyncIterator()
        guard let ports = await iterator.next() else { return }
        self.onReady(ports)
        let host = ["0.0.0.0", "::"].contains(self.settings.agentHost) ? "127.0.0.1" : self.settings.agentHost
        let settings = AgentSettings(servers: [ServerAddress(host: host, port: ports.agentPort)], key: self.key, hostname: self.hostname)
        let agent = VigilAgent(
            settings: settings, logger: self.logger,
            sampler: RegistrySampler(registry: .standard(), hostname: self.hostname, logger: self.logger)
        )
        await withGracefulShutdownHandler {
            _ = await agent.run()
        } onGracefulShutdown: {
            agent.shutdown.request()
        }
    }
}
