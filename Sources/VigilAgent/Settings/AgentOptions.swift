/// What the command line gave `vigil-agent`, before the environment, the configuration file and
/// the defaults fill the gaps (``AgentSettings/load(options:environment:defaultHostname:)``).
/// `nil` (or empty) means "not given".
public struct AgentOptions: Sendable, Equatable {
    /// `--server`, in order of preference.
    public var servers: [String] = []
    public var key: String?
    public var keyFile: String?
    public var hostname: String?
    /// Seconds; validated to 0.001...86400.
    public var backoffInitial: Double = 0.5
    public var backoffMax: Double = 30
    public var connectTimeout: Double = 5
    /// Seconds as text (`0` turns metrics off).
    public var metricsInterval: String?
    public var inbox: String?
    /// `--config-dir`: where `agent.json` is read from (see ``AgentConfigFile``).
    public var configDirectory: String?
    /// `--ca`: the server's CA certificate (PEM); TLS pinned to it.
    public var caFile: String?
    /// `--ca-fingerprint sha256:<hex>`: TLS pinned to the CA with this fingerprint.
    public var caFingerprint: String?
    /// `--tls` / `--no-tls`: force TLS on or off (on needs a CA or a fingerprint).
    public var tls: Bool?
    /// `--tls-min-version 1.2|1.3`.
    public var tlsMinVersion: String?
    /// `--spool-dir`: where samples wait while no server is reachable (`off`: nowhere).
    public var spoolDirectory: String?

    public init() {}
}
