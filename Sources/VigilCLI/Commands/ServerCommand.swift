import Foundation
import ArgumentParser
import VigilServer
import VigilStore

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the Vigil server: agent listener (5001), failure detection, HTTP API (5000).",
        discussion: """
        Configuration comes from flags, then VIGIL_* environment variables, then the YAML file; \
        docs/OPERATIONS.md lists every key. SIGTERM or SIGINT shuts down gracefully; SIGHUP \
        (or `vigil reload`) reloads the configuration.

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
        let lock = settings.storage.usesDataDirectory ? try DataDirectoryLock.acquire(in: directory) : nil
        defer { withExtendedLifetime(lock) {} }
        let logLevel = LiveLogLevel(settings.logLevel)
        let logger = Logging.bootstrap(level: logLevel)
        let readyFile = self.readyFile
        let server = try await VigilServer(settings: settings, logger: logger, configuration: configuration, logLevel: logLevel) { ports in
            if let readyFile { writeReadyFile(readyFile, ports: ports) }
        }
        try await server.run()
    }
}
