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
        VIGIL_METRICS_INTERVAL, VIGIL_INBOX. Prefer a key file to --key: command lines are visible to every user \
        of the host.

        SIGTERM or SIGINT: unregister (the host becomes STOPPED, not DOWN) and exit 0.

        Exit codes: 0 clean shutdown; 64 bad usage; 77 the server refused the key or version, \
        or another agent registered with the same key (retrying cannot help); 1 any other failure.
        """,
        version: VigilAgent.version
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
        let serverTexts = self.servers.isEmpty
            ? (environment["VIGIL_SERVERS"] ?? "127.0.0.1:5001").split(separator: ",").map { $0.trimmedOfWhitespace }
            : self.servers
        guard !serverTexts.filter({ !$0.isEmpty }).isEmpty else { throw ValidationError("no server given: use --server host:port or VIGIL_SERVERS") }
        let servers = try serverTexts.filter { !$0.isEmpty }.map { text in
            guard let address = ServerAddress(parsing: text) else { throw ValidationError("invalid --server \"\(text)\": expected host:port") }
            return address
        }
        let levelText = self.logLevel ?? environment["VIGIL_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else { throw ValidationError("invalid --log-level \"\(levelText)\"") }
        for (name, value) in [("--backoff-initial", self.backoffInitial), ("--backoff-max", self.backoffMax), ("--connect-timeout", self.connectTimeout)]
            where !(value >= 0.001 && value <= 86_400) {
            throw ValidationError("\(name) must be between 0.001 and 86400 seconds")
        }

        let disabled = try self.disabledCollectors()

        var settings = AgentSettings(servers: servers, key: try self.resolveKey(environment), hostname: self.hostname ?? environment["VIGIL_HOSTNAME"] ?? Self.machineHostname())
        settings.backoffInitial = .milliseconds(Int64(self.backoffInitial * 1000))
        settings.backoffMax = .milliseconds(Int64(self.backoffMax * 1000))
        settings.connectTimeout = .milliseconds(Int64(self.connectTimeout * 1000))
        if let metricsInterval = try self.resolveMetricsInterval(environment) {
            settings.metricsInterval = metricsInterval
        }
        if let inbox = self.inbox ?? environment["VIGIL_INBOX"], !inbox.isEmpty {
            var info = stat()
            if stat(inbox, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR {
                throw ValidationError("--inbox \(inbox) is not a directory")
            }
            settings.inbox = inbox.hasPrefix("/") ? inbox : FileManager.default.currentDirectoryPath + "/" + inbox
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

    /// `--metrics-interval`, else `VIGIL_METRICS_INTERVAL`; `nil` when neither is set (the default applies).
    /// `.zero` disables metrics.
    private func resolveMetricsInterval(_ environment: [String: String]) throws -> Duration? {
        let (name, text): (String, String)
        if let flag = self.metricsInterval {
            (name, text) = ("--metrics-interval", flag)
        } else if let variable = environment["VIGIL_METRICS_INTERVAL"] {
            (name, text) = ("VIGIL_METRICS_INTERVAL", variable)
        } else {
            return nil
        }
        let trimmed = text.trimmedOfWhitespace
        guard let seconds = Double(trimmed) else {
            throw ValidationError("\(name): expected a number of seconds (0 turns metrics off), got \"\(trimmed)\"")
        }
        guard seconds.isFinite else { throw ValidationError("\(name) must be a finite number of seconds, got \(trimmed)") }
        guard seconds >= 0 else { throw ValidationError("\(name) must not be negative (0 turns metrics off), got \(trimmed)") }
        if seconds == 0 { return .zero }
        guard seconds >= 0.1, seconds <= 86_400 else {
            throw ValidationError("\(name) must be 0 (metrics off) or from 0.1 to 86400 seconds; got \(trimmed)")
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    private func resolveKey(_ environment: [String: String]) throws -> String? {
        // Flags first, then the environment; within each, the key before the key file.
        if let key = self.key { return key }
        let path: String
        if let file = self.keyFile {
            path = file
        } else if let key = environment["VIGIL_AGENT_KEY"] {
            return key
        } else if let file = environment["VIGIL_AGENT_KEY_FILE"] {
            path = file
        } else {
            return nil
        }
        guard let data = try? Data(contentsOf: URL(filePath: path)) else {
            throw ValidationError("cannot read key file \(path)")
        }
        return String(decoding: data, as: UTF8.self).trimmedOfWhitespace
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
