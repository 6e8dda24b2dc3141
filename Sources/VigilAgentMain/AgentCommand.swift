import ArgumentParser
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import VigilAgent
import VigilCollectors
import VigilConnection
import VigilMetrics
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `vigil-agent`: the host agent. Small on purpose: no HTTP server, no database.
@main
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil-agent",
        abstract: "Keep this host registered with a Vigil server; send heartbeats and metrics.",
        discussion: """
        These options can also come from the environment (the flag wins): VIGIL_SERVERS \
        (comma-separated), VIGIL_AGENT_KEY, VIGIL_AGENT_KEY_FILE, VIGIL_HOSTNAME, VIGIL_LOG_LEVEL, \
        VIGIL_METRICS_INTERVAL, VIGIL_INBOX, VIGIL_CONFIG_DIR, VIGIL_CA, VIGIL_CA_FINGERPRINT, VIGIL_TLS, \
        VIGIL_TLS_MIN_VERSION, VIGIL_SPOOL_DIR, VIGIL_SPOOL_MAX_BYTES, VIGIL_SPOOL_MAX_AGE, \
        VIGIL_SPOOL_REPLAY_RATE; then from agent.json in the configuration directory (written by \
        `vigil-agent enroll TOKEN`). Prefer a key file to --key: command lines are visible to every user \
        of the host.

        TLS is used when a CA is configured (--ca, --ca-fingerprint, or the enrollment's pin): the \
        server's certificate chain must contain that CA, or the agent exits 77.

        Samples taken while no server is reachable wait in a spool on disk (default: spool/ in the \
        configuration directory; at most 64 MiB and 24 h, the oldest dropped first) and are sent \
        after the reconnect, 50 a second beside the live ones.

        SIGTERM or SIGINT: unregister (the host becomes STOPPED, not DOWN) and exit 0.

        Exit codes: 0 clean shutdown; 64 bad usage; 77 the server refused the key or version, \
        or another agent registered with the same key, or the server's CA is not the pinned one \
        (retrying cannot help); 1 any other failure.
        """,
        version: VigilAgent.version,
        subcommands: [EnrollCommand.self]
    )

    @Option(name: .customLong("server"), help: "A server as host:port (repeat for failover, in order of preference).")
    var servers: [String] = []

    @Option(help: "The agent key (vk_...). Prefer --key-file.")
    var key: String?

    @Option(help: "A file holding the agent key.")
    var keyFile: String?

    @Option(help: "The host name to report (default: this machine's).")
    var hostname: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    @Option(help: "First reconnect delay in seconds; doubles per failed round, with jitter.")
    var backoffInitial: Double = 0.5

    @Option(help: "Cap on the reconnect delay, in seconds.")
    var backoffMax: Double = 30

    @Option(help: "Seconds to wait for each TCP connect.")
    var connectTimeout: Double = 5

    // .unconditional: `--metrics-interval -1` reaches the validation below (a clear message) instead of
    // being taken for an option.
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Seconds between metrics samples sent to the server (default 5; at least 0.1). 0 disables metrics: heartbeats only.",
        valueName: "seconds"
    ))
    var metricsInterval: String?

    @Option(help: ArgumentHelp("A directory for files sent to this host (`vigil send-file --to HOST`); without it they are refused. Also VIGIL_INBOX.", valueName: "directory"))
    var inbox: String?

    @Option(help: ArgumentHelp("The configuration directory holding agent.json (default /etc/vigil for root, else ~/.config/vigil).", valueName: "directory"))
    var configDir: String?

    @Option(help: ArgumentHelp("An enrollment token: enroll into the configuration directory on the first start (as `vigil-agent enroll`), then run from it.", valueName: "token"))
    var token: String?

    @Option(help: ArgumentHelp("The server's CA certificate (PEM): TLS, trusting only this CA.", valueName: "file"))
    var ca: String?

    @Option(help: ArgumentHelp("TLS, trusting only the CA with this fingerprint (sha256:<64 hex>).", valueName: "fingerprint"))
    var caFingerprint: String?

    @Flag(inversion: .prefixedNo, help: "Force TLS on (needs a CA) or off. Default: on when a CA is configured.")
    var tls: Bool?

    @Option(help: ArgumentHelp("The oldest TLS version accepted: 1.3 (default) or 1.2.", valueName: "version"))
    var tlsMinVersion: String?

    @Option(help: ArgumentHelp("Where samples wait while no server is reachable (default: spool/ in the configuration directory; off: drop them). Also VIGIL_SPOOL_DIR.", valueName: "directory"))
    var spoolDir: String?

    @Flag(help: "Take one metrics sample (two readings 1 s apart, for rates), print it as JSON and exit.")
    var printMetrics = false

    @Option(help: "Collectors to leave out of the metrics, comma-separated (cpu, load, memory, filesystem, diskio, network, system, processes).")
    var disableCollectors: String?

    mutating func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        if self.printMetrics {
            try await self.printOneSample(environment)
            return
        }
        let levelText = self.logLevel ?? environment["VIGIL_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else { throw ValidationError("invalid --log-level \"\(levelText)\"") }
        let disabled = try self.disabledCollectors()
        if let token = self.token {
            try Self.enrollIfNeeded(tokenText: token, directory: self.configurationDirectory(environment), hostname: self.hostname)
        }
        let settings: AgentSettings
        do {
            settings = try AgentSettings.load(options: self.options, environment: environment, defaultHostname: Self.machineHostname(), isRoot: geteuid() == 0)
        } catch {
            throw ValidationError(error.description)
        }

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "vigil-agent")
        // One registry for the agent's life: its previous counters survive reconnects, so rates stay right.
        let sampler = settings.metricsInterval > .zero
            ? RegistrySampler(registry: .standard(disabled: disabled), hostname: settings.hostname, logger: logger)
            : nil
        let agent = VigilAgent(settings: settings, logger: logger, sampler: sampler)
        let signals = Self.installSignalHandlers { agent.shutdown.request() }
        defer { signals.forEach { $0.cancel() } }

        switch await agent.run() {
        case .shutDown:
            return
        case .refused:
            throw ExitCode(77)
        }
    }

    /// The flags, for ``AgentSettings/load(options:environment:defaultHostname:isRoot:)``.
    var options: AgentOptions {
        var options = AgentOptions()
        options.servers = self.servers
        options.key = self.key
        options.keyFile = self.keyFile
        options.hostname = self.hostname
        options.backoffInitial = self.backoffInitial
        options.backoffMax = self.backoffMax
        options.connectTimeout = self.connectTimeout
        options.metricsInterval = self.metricsInterval
        options.inbox = self.inbox
        options.configDirectory = self.configDir
        options.caFile = self.ca
        options.caFingerprint = self.caFingerprint
        options.tls = self.tls
        options.tlsMinVersion = self.tlsMinVersion
        options.spoolDirectory = self.spoolDir
        return options
    }

    /// `--config-dir`, else VIGIL_CONFIG_DIR, else the default for this user.
    func configurationDirectory(_ environment: [String: String]) -> String {
        self.configDir ?? environment["VIGIL_CONFIG_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? AgentConfigFile.defaultDirectory(environment: environment, isRoot: geteuid() == 0)
    }

    /// `--token`: enroll on the first start; later starts find the same enrollment and just run.
    static func enrollIfNeeded(tokenText: String, directory: String, hostname: String?) throws {
        let token: EnrollmentToken
        do {
            token = try EnrollmentToken(parsing: tokenText)
        } catch {
            throw ValidationError("invalid enrollment token: \(error)")
        }
        if FileManager.default.fileExists(atPath: directory + "/" + AgentConfigFile.fileName) {
            guard AgentEnrollment.matches(token, directory: directory) else {
                throw ValidationError("\(directory)/\(AgentConfigFile.fileName) holds another enrollment; run `vigil-agent enroll --force TOKEN` to replace it")
            }
            return
        }
        do {
            _ = try AgentEnrollment.enroll(token: token, directory: directory, hostname: hostname)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// `--print-metrics`: what this agent would report, for a person to check against `free`, `df`, `top`.
    private func printOneSample(_ environment: [String: String]) async throws {
        var registry = CollectorRegistry.standard(disabled: try self.disabledCollectors())
        _ = registry.sample(hostname: nil)
        try await Task.sleep(for: .seconds(1))
        let hostname = self.hostname ?? environment["VIGIL_HOSTNAME"] ?? Self.machineHostname()
        let (document, failures) = registry.sample(hostname: hostname)
        for (name, failure) in failures.sorted(by: { $0.key < $1.key }) {
            var standardError = StandardError()
            print("vigil-agent: collector \(name) failed: \(failure)", to: &standardError)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        print(String(decoding: try encoder.encode(document), as: UTF8.self))
    }

    /// `--disable-collectors`, checked against the collectors this build has.
    private func disabledCollectors() throws -> Set<String> {
        let disabled = Set((self.disableCollectors ?? "").split(separator: ",").map { $0.trimmedOfWhitespace }.filter { !$0.isEmpty })
        if let unknown = disabled.sorted().first(where: { !CollectorRegistry.allNames.contains($0) }) {
            throw ValidationError("unknown collector \"\(unknown)\"; known: \(CollectorRegistry.allNames.joined(separator: ", "))")
        }
        return disabled
    }

    static func machineHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Routes SIGTERM and SIGINT to `handler` instead of killing the process.
    static func installSignalHandlers(_ handler: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and newlines (FoundationEssentials has no `trimmingCharacters`).
    var trimmedOfWhitespace: String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}

/// Standard error as a `TextOutputStream`, for `print(…, to:)` without full Foundation.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var text = string
        text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }
}
