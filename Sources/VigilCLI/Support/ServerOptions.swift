import ArgumentParser
import Foundation
import Logging
import VigilServer

/// Flags shared by `vigil server`, `vigil up` and `vigil keys`. Each maps to a configuration key and
/// overrides the environment and the config file.
struct ServerOptions: ParsableArguments {
    @Option(help: "A YAML config file (also VIGIL_CONFIG).")
    var config: String?

    @Option(help: "Data directory (data_dir).")
    var dataDir: String?

    @Option(help: "Address agents connect to (agents.host). 0.0.0.0 accepts remote agents.")
    var agentHost: String?

    @Option(help: "Agent port (agents.port); 0 picks a free one.")
    var agentPort: Int?

    @Option(help: "HTTP API address (http.host).")
    var httpHost: String?

    @Option(help: "HTTP API port (http.port); 0 picks a free one.")
    var httpPort: Int?

    @Option(help: "Heartbeat interval agents are told to keep, e.g. 1s or 30s (heartbeat.interval).")
    var heartbeatInterval: String?

    @Flag(help: "Accept agents without a key, identified by the name they send (agents.open_enrollment). Local use only.")
    var openEnrollment = false

    @Option(help: "trace, debug, info, notice, warning, error or critical (log.level).")
    var logLevel: String?

    /// The flags given, as configuration overrides.
    var overrides: [String: String] {
        var values: [String: String] = [:]
        values["data_dir"] = self.dataDir
        values["agents.host"] = self.agentHost
        values["agents.port"] = self.agentPort.map(String.init)
        values["http.host"] = self.httpHost
        values["http.port"] = self.httpPort.map(String.init)
        values["heartbeat.interval"] = self.heartbeatInterval
        values["log.level"] = self.logLevel
        if self.openEnrollment { values["agents.open_enrollment"] = "true" }
        return values
    }

    /// Loads the settings, turning a configuration problem into a usage error (exit 64) that names the key.
    func loadSettings() async throws -> ServerSettings {
        try await self.loadConfiguration().settings
    }

    /// As ``loadSettings()``, keeping how they were loaded so the server can reload them.
    func loadConfiguration() async throws -> LoadedConfiguration {
        do {
            return try await ServerSettings.loadConfiguration(file: self.config, overrides: self.overrides)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }
}

enum Logging {
    /// Logs go to standard error with structured metadata; standard output is kept for results.
    static func bootstrap(level: Logger.Level) -> Logger {
        Self.bootstrap(level: LiveLogLevel(level))
    }

    /// As ``bootstrap(level:)``, every handler following `level` as a reload changes it (`log.level`).
    static func bootstrap(level: LiveLogLevel) -> Logger {
        LoggingSystem.bootstrap { label in
            LiveLevelLogHandler(wrapping: StreamLogHandler.standardError(label: label), level: level)
        }
        return Logger(label: "vigil")
    }
}

/// Writes `{"agent_port":…,"http_port":…,"pid":…}` atomically, for scripts and tests that start a
/// server on port 0 and need to know where it listens.
func writeReadyFile(_ path: String, ports: VigilServer.BoundPorts) {
    let json = #"{"agent_port":\#(ports.agentPort),"http_port":\#(ports.httpPort),"pid":\#(getpid())}"#
    let temporary = path + ".tmp"
    do {
        try Data(json.utf8).write(to: URL(fileURLWithPath: temporary))
        _ = rename(temporary, path)
    } catch {
        FileHandle.standardError.write(Data("vigil: cannot write ready file \(path): \(error)\n".utf8))
    }
}
