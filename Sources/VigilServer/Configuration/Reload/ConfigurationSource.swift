import Foundation

/// How the running settings were loaded: the file, the environment and the flags, kept so a reload
/// reads the configuration again exactly the same way (only the file can have changed: a running
/// process's environment and flags are fixed).
public struct ConfigurationSource: Sendable {
    /// The `--config` file; when `nil`, `VIGIL_CONFIG` in ``environment`` names one if set.
    public var file: String?
    public var environment: [String: String]
    /// Command-line flags, by configuration key.
    public var overrides: [String: String]

    public init(file: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment, overrides: [String: String] = [:]) {
        self.file = file
        self.environment = environment
        self.overrides = overrides
    }

    /// The config file in use, if any.
    public var path: String? { self.file ?? self.environment["VIGIL_CONFIG"] }

    /// Reads and validates the whole configuration again.
    public func load() async throws -> LoadedConfiguration {
        try await ServerSettings.loadConfiguration(file: self.file, environment: self.environment, overrides: self.overrides)
    }
}
