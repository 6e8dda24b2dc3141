import Foundation
import VigilConnection

extension AgentSettings {
    /// The settings `vigil-agent` runs with: each value from its flag, else its environment
    /// variable, else the configuration file (`agent.json` in the configuration directory), else
    /// the default. Reads the key file and the CA file; checks every value. The configuration file is
    /// read from `--config-dir` (or `VIGIL_CONFIG_DIR`), else from the default directory when no
    /// server is given by flag or variable.
    ///
    /// Environment: VIGIL_SERVERS (comma-separated), VIGIL_AGENT_KEY, VIGIL_AGENT_KEY_FILE,
    /// VIGIL_HOSTNAME, VIGIL_METRICS_INTERVAL, VIGIL_INBOX, VIGIL_CONFIG_DIR, VIGIL_CA,
    /// VIGIL_CA_FINGERPRINT, VIGIL_TLS (true/false), VIGIL_TLS_MIN_VERSION, VIGIL_SPOOL_DIR,
    /// VIGIL_SPOOL_MAX_BYTES, VIGIL_SPOOL_MAX_AGE, VIGIL_SPOOL_REPLAY_RATE.
    ///
    /// - Parameters:
    ///   - defaultHostname: This machine's name, used when nothing names the host.
    ///   - isRoot: Picks the default configuration directory (`/etc/vigil` for root).
    public static func load(
        options: AgentOptions,
        environment: [String: String],
        defaultHostname: String,
        isRoot: Bool = false
    ) throws(AgentConfigurationError) -> AgentSettings {
        let explicitDirectory = options.configDirectory ?? environment["VIGIL_CONFIG_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        let directory = explicitDirectory ?? AgentConfigFile.defaultDirectory(environment: environment, isRoot: isRoot)
        // The default directory is read only when no server is named: an agent started with
        // --server (a script, a test, `vigil up`) is not changed by an enrollment on the machine.
        let serversGiven = !options.servers.isEmpty || environment["VIGIL_SERVERS"] != nil
        let file = explicitDirectory == nil && serversGiven ? nil : try AgentConfigFile.load(directory: directory)
        if file == nil, let explicitDirectory {
            throw AgentConfigurationError("no \(AgentConfigFile.fileName) in \(explicitDirectory): enroll first (vigil-agent enroll TOKEN --config-dir \(explicitDirectory))")
        }
        let config = file ?? AgentConfigFile()

        let serverTexts: [String]
        if !options.servers.isEmpty {
            serverTexts = options.servers
        } else if let variable = environment["VIGIL_SERVERS"] {
            serverTexts = variable.split(separator: ",").map { String($0).trimmedOfWhitespace }
        } else {
            serverTexts = config.servers ?? ["127.0.0.1:5001"]
        }
        let nonEmpty = serverTexts.filter { !$0.isEmpty }
        guard !nonEmpty.isEmpty else { throw AgentConfigurationError("no server given: use --server host:port or VIGIL_SERVERS") }
        var servers: [ServerAddress] = []
        for text in nonEmpty {
            guard let address = ServerAddress(parsing: text) else { throw AgentConfigurationError("invalid --server \"\(text)\": expected host:port") }
            servers.append(address)
        }
        for (name, value) in [("--backoff-initial", options.backoffInitial), ("--backoff-max", options.backoffMax), ("--connect-timeout", options.connectTimeout)]
            where !(value >= 0.001 && value <= 86_400) {
            throw AgentConfigurationError("\(name) must be between 0.001 and 86400 seconds")
        }

        let hostname = options.hostname ?? environment["VIGIL_HOSTNAME"] ?? config.hostname ?? defaultHostname
        var settings = AgentSettings(servers: servers, key: try Self.resolveKey(options, environment, config, directory: directory), hostname: hostname)
        settings.backoffInitial = .milliseconds(Int64(options.backoffInitial * 1000))
        settings.backoffMax = .milliseconds(Int64(options.backoffMax * 1000))
        settings.connectTimeout = .milliseconds(Int64(options.connectTimeout * 1000))
        if let metricsInterval = try Self.resolveMetricsInterval(options, environment) {
            settings.metricsInterval = metricsInterval
        }
        if let inbox = options.inbox ?? environment["VIGIL_INBOX"], !inbox.isEmpty {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: inbox, isDirectory: &isDirectory), !isDirectory.boolValue {
                throw AgentConfigurationError("--inbox \(inbox) is not a directory")
            }
            settings.inbox = inbox.hasPrefix("/") ? inbox : FileManager.default.currentDirectoryPath + "/" + inbox
        }
        settings.tls = try Self.resolveTLS(options, environment, config, directory: directory)
        settings.spool = try Self.resolveSpool(options, environment, config, configDirectory: directory)
        return settings
    }

    /// TLS from `--ca` / `--ca-fingerprint` (or their variables), else the file's; on when either
    /// is set, unless `--no-tls` / `VIGIL_TLS=false` / `"tls": false` turns it off.
    private static func resolveTLS(
        _ options: AgentOptions, _ environment: [String: String], _ config: AgentConfigFile, directory: String
    ) throws(AgentConfigurationError) -> ClientTLS? {
        var enabled = options.tls
        if enabled == nil, let text = environment["VIGIL_TLS"], !text.isEmpty {
            switch text.lowercased() {
            case "true", "1", "yes", "on": enabled = true
            case "false", "0", "no", "off": enabled = false
            default: throw AgentConfigurationError("VIGIL_TLS must be true or false, got \"\(text)\"")
            }
        }
        let caFile = options.caFile ?? environment["VIGIL_CA"].flatMap { $0.isEmpty ? nil : $0 } ?? config.caFile.map { Self.resolve($0, in: directory) }
        let fingerprintText = options.caFingerprint ?? environment["VIGIL_CA_FINGERPRINT"].flatMap { $0.isEmpty ? nil : $0 } ?? config.caFingerprint
        let versionText = options.tlsMinVersion ?? environment["VIGIL_TLS_MIN_VERSION"].flatMap { $0.isEmpty ? nil : $0 } ?? config.tlsMinVersion
        let minimum: ClientTLS.MinimumVersion
        if let versionText {
            guard let version = ClientTLS.MinimumVersion(rawValue: versionText) else {
                throw AgentConfigurationError("invalid TLS minimum version \"\(versionText)\": expected 1.2 or 1.3")
            }
            minimum = version
        } else {
            minimum = .tls13
        }
        let trust: TLSTrust?
        if let caFile {
            do {
                let fromFile = try TLSTrust.caFile(caFile)
                if let fingerprintText {
                    // Both given: they must name the same CA, or one of them is stale.
                    guard let pin = CertificateFingerprint(parsing: fingerprintText) else {
                        throw TLSConfigurationError("invalid CA fingerprint \"\(fingerprintText)\": expected sha256: and 64 hex digits")
                    }
                    guard pin == fromFile.pin else {
                        throw TLSConfigurationError("the CA in \(caFile) has fingerprint \(fromFile.pin), not the configured \(pin)")
                    }
                }
                trust = fromFile
            } catch {
                throw AgentConfigurationError("\(error)")
            }
        } else if let fingerprintText {
            guard let pin = CertificateFingerprint(parsing: fingerprintText) else {
                throw AgentConfigurationError("invalid CA fingerprint \"\(fingerprintText)\": expected sha256: and 64 hex digits")
            }
            trust = .pinned(pin, source: file(config, options, environment))
        } else {
            trust = nil
        }
        switch (enabled ?? config.tls, trust) {
        case (false, _):
            return nil
        case (true, nil):
            throw AgentConfigurationError("TLS is on but no CA is configured: give --ca FILE or --ca-fingerprint sha256:..., or enroll with a token")
        case (_, let trust?):
            return ClientTLS(trust: trust, minimumVersion: minimum)
        case (nil, nil):
            return nil
        }
    }

    /// Where a pinned fingerprint came from, for the mismatch message.
    private static func file(_ config: AgentConfigFile, _ options: AgentOptions, _ environment: [String: String]) -> String {
        if options.caFingerprint != nil { return "from --ca-fingerprint" }
        if environment["VIGIL_CA_FINGERPRINT"].map({ !$0.isEmpty }) == true { return "from VIGIL_CA_FINGERPRINT" }
        return "from the enrollment token"
    }

    /// A path in the configuration file, relative to the configuration directory.
    private static func resolve(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : directory + "/" + path
    }

    /// Flags first, then the environment, then the configuration file; within each, the key before the key file.
    private static func resolveKey(
        _ options: AgentOptions, _ environment: [String: String], _ config: AgentConfigFile, directory: String
    ) throws(AgentConfigurationError) -> String? {
        if let key = options.key { return key }
        let path: String
        if let file = options.keyFile {
            path = file
        } else if let key = environment["VIGIL_AGENT_KEY"] {
            return key
        } else if let file = environment["VIGIL_AGENT_KEY_FILE"] {
            path = file
        } else if let file = config.keyFile {
            path = Self.resolve(file, in: directory)
        } else {
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentConfigurationError("cannot read key file \(path)")
        }
        return String(decoding: data, as: UTF8.self).trimmedOfWhitespace
    }

    /// `--metrics-interval`, else `VIGIL_METRICS_INTERVAL`; `nil` when neither is set (the default applies).
    /// `.zero` disables metrics.
    private static func resolveMetricsInterval(_ options: AgentOptions, _ environment: [String: String]) throws(AgentConfigurationError) -> Duration? {
        let (name, text): (String, String)
        if let flag = options.metricsInterval {
            (name, text) = ("--metrics-interval", flag)
        } else if let variable = environment["VIGIL_METRICS_INTERVAL"] {
            (name, text) = ("VIGIL_METRICS_INTERVAL", variable)
        } else {
            return nil
        }
        let trimmed = text.trimmedOfWhitespace
        guard let seconds = Double(trimmed) else {
            throw AgentConfigurationError("\(name): expected a number of seconds (0 turns metrics off), got \"\(trimmed)\"")
        }
        guard seconds.isFinite else { throw AgentConfigurationError("\(name) must be a finite number of seconds, got \(trimmed)") }
        guard seconds >= 0 else { throw AgentConfigurationError("\(name) must not be negative (0 turns metrics off), got \(trimmed)") }
        if seconds == 0 { return .zero }
        guard seconds >= 0.1, seconds <= 86_400 else {
            throw AgentConfigurationError("\(name) must be 0 (metrics off) or from 0.1 to 86400 seconds; got \(trimmed)")
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and newlines (FoundationEssentials has no `trimmingCharacters`).
    var trimmedOfWhitespace: String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
