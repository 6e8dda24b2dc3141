import Configuration
import Foundation
import Logging
import SystemPackage
import VigilPostgres
import VigilProtocol

/// A configuration value that could not be used, named by its key and source.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

extension ServerSettings {
    /// Environment variables are the keys upper-cased with `.` as `_`, behind this prefix:
    /// `heartbeat.interval` is `VIGIL_HEARTBEAT_INTERVAL`.
    public static let environmentPrefix = "vigil"

    /// Loads settings from, highest priority first: `overrides` (command-line flags), the environment,
    /// then the YAML file. Anything unset keeps its default.
    ///
    /// - Parameters:
    ///   - file: A YAML config file. When `nil`, `VIGIL_CONFIG` names one if set.
    ///   - environment: The process environment.
    ///   - overrides: Values from flags, by configuration key (e.g. `"agents.port": "0"`).
    /// - Throws: ``ConfigurationError`` naming the key and the problem for any value that does not parse.
    public static func load(
        file: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        overrides: [String: String] = [:]
    ) async throws -> ServerSettings {
        try await Self.loadConfiguration(file: file, environment: environment, overrides: overrides).settings
    }

    /// As ``load(file:environment:overrides:)``, keeping what a reload needs: where the settings
    /// came from and each key's value as configured, to tell which keys a new file changes.
    public static func loadConfiguration(
        file: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        overrides: [String: String] = [:]
    ) async throws -> LoadedConfiguration {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(
                name: "flags",
                values: Dictionary(uniqueKeysWithValues: overrides.map { (AbsoluteConfigKey(stringLiteral: $0.key), ConfigValue(.string($0.value), isSecret: false)) })
            ),
            EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: [Self.environmentPrefix]),
        ]
        if let path = file ?? environment["VIGIL_CONFIG"] {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ConfigurationError(description: "config file \(path) does not exist")
            }
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)))
            } catch {
                throw ConfigurationError(description: "config file \(path) is not valid YAML: \(error)")
            }
        }
        let reader = ConfigReader(providers: providers)
        var settings = ServerSettings()
        var parser = SettingsParser(reader: reader)

        parser.string("data_dir") { settings.dataDirectory = $0 }
        parser.string("server.id") { settings.serverID = $0 }
        parser.parse("log.level", "one of trace, debug, info, notice, warning, error, critical", { Logger.Level(rawValue: $0.lowercased()) }) { settings.logLevel = $0 }

        parser.string("agents.host") { settings.agentHost = $0 }
        parser.int("agents.port", 0...65535) { settings.agentPort = $0 }
        parser.int("agents.max_frame_size", 64...(64 << 20)) { settings.maxFrameSize = $0 }
        parser.duration("agents.handshake_timeout") { settings.handshakeTimeout = $0 }
        parser.int("agents.max_connections", 1...10_000_000) { settings.maxConnections = $0 }
        parser.int("agents.max_protocol_errors", 0...1_000_000) { settings.maxProtocolErrors = $0 }
        parser.bool("agents.open_enrollment") { settings.openEnrollment = $0 }
        parser.clientNames("agents.legacy_clients") { settings.legacyClients = Set($0) }
        parser.duration("agents.close_timeout") { settings.closeTimeout = $0 }
        parser.parse("agents.plaintext", "loopback, never, or CIDR blocks such as 10.0.0.0/8,fd00::/8", PlaintextPolicy.init(parsing:)) { settings.agentPlaintext = $0 }

        parser.list("agents.advertise") { settings.agentAdvertise = $0 }
        parser.duration("agents.revocation_check_interval") { settings.revocationCheckInterval = $0 }
        parser.bool("tls.enabled") { settings.tls.enabled = $0 }
        parser.string("tls.certificate") { settings.tls.certificateFile = $0 }
        parser.string("tls.private_key") { settings.tls.privateKeyFile = $0 }
        parser.string("tls.ca") { settings.tls.caFile = $0 }
        parser.list("tls.names") { settings.tls.names = $0 }
        parser.parse("tls.min_version", "1.3 or 1.2", { TLSVersionSetting(rawValue: $0) }) { settings.tls.minimumVersion = $0 }
        parser.duration("tls.handshake_timeout") { settings.tls.handshakeTimeout = $0 }
        parser.duration("tls.certificate_validity") { settings.tls.certificateValidity = $0 }
        parser.duration("tls.ca_validity") { settings.tls.caValidity = $0 }
        parser.duration("tls.renew_before") { settings.tls.renewBefore = $0 }

        parser.string("http.host") { settings.httpHost = $0 }
        parser.int("http.port", 0...65535) { settings.httpPort = $0 }
        parser.duration("http.idle_timeout") { settings.http.idleTimeout = $0 }
        parser.duration("http.header_timeout") { settings.http.headerTimeout = $0 }
        parser.duration("http.body_timeout") { settings.http.bodyTimeout = $0 }
        parser.int("http.body_min_rate", 1...(1 << 30)) { settings.http.bodyMinRate = $0 }
        parser.int("http.max_header_bytes", 1024...(1 << 20)) { settings.http.maxHeaderBytes = $0 }
        parser.int("http.max_connections", 1...10_000_000) { settings.http.maxConnections = $0 }
        parser.duration("http.close_linger") { settings.http.closeLinger = $0 }
        parser.parse("http.plaintext", "loopback, never, or CIDR blocks such as 10.0.0.0/8,fd00::/8", PlaintextPolicy.init(parsing:)) { settings.httpPlaintext = $0 }
        parser.duration("http.hsts_max_age") { settings.hstsMaxAge = $0 }
        parser.int("api.max_history_points", 100...10_000_000) { settings.maxHistoryPoints = $0 }
        parser.int("api.max_stats_metrics", 1...10_000) { settings.maxStatsMetrics = $0 }
        parser.string("dashboard.directory") { settings.dashboardDirectory = $0 }

        parser.duration("heartbeat.interval") { settings.heartbeatInterval = $0 }
        parser.duration("agents.metrics_interval") { settings.metricsInterval = $0 }
        parser.duration("liveness.reconnect_grace") { settings.reconnectGraceSetting = $0 }
        parser.duration("liveness.restart_grace") { settings.restartGraceSetting = $0 }
        parser.duration("liveness.silence_margin") { settings.silenceMarginSetting = $0 }
        parser.double("liveness.max_missed_heartbeats", 1.5...100) { settings.maxMissedHeartbeats = $0 }
        parser.double("liveness.phi_suspect", 0.1...100) { settings.phiSuspectThreshold = $0 }
        parser.double("liveness.phi_down", 0.1...100) { settings.phiDownThreshold = $0 }
        parser.int("liveness.recovery_heartbeats", 1...1000) { settings.recoveryHeartbeats = $0 }
        parser.duration("liveness.idle_timeout") { settings.idleTimeoutSetting = $0 }
        parser.duration("liveness.check_interval") { settings.checkIntervalSetting = $0 }
        parser.duration("liveness.persist_interval") { settings.persistInterval = $0 }

        parser.parse("storage", "sqlite, memory or postgres", { StorageKind(rawValue: $0.lowercased()) }) { settings.storage = $0 }
        parser.parse("store.backend", "sqlite, memory or postgres", { StorageKind(rawValue: $0.lowercased()) }) { settings.storage = $0 }
        Self.parsePostgres(&parser, into: &settings)
        parser.string("cluster.member_id") { settings.cluster.memberID = $0 }
        parser.string("cluster.advertise_agent_address") { settings.cluster.advertiseAgentAddress = $0 }
        parser.string("cluster.advertise_http_address") { settings.cluster.advertiseHTTPAddress = $0 }
        parser.int("cluster.capacity", 0...10_000_000) { settings.cluster.capacity = $0 }
        parser.double("cluster.balance_tolerance", 0.01...10) { settings.cluster.balanceTolerance = $0 }
        parser.int("cluster.shed_rate", 0...100_000) { settings.cluster.shedRate = $0 }
        parser.duration("cluster.heartbeat_interval") { settings.cluster.heartbeatInterval = $0 }
        parser.duration("cluster.member_timeout") { settings.cluster.memberTimeout = $0 }
        parser.duration("cluster.election_interval") { settings.cluster.electionInterval = $0 }
        parser.duration("cluster.leader_lease") { settings.cluster.leaderLease = $0 }
        parser.duration("cluster.relay_flush_interval") { settings.cluster.relay.flushInterval = $0 }
        parser.int("cluster.relay_payload_bytes", 1024...7999) { settings.cluster.relay.payloadBytes = $0 }
        parser.int("cluster.relay_max_pending", 1...10_000_000) { settings.cluster.relay.maxPending = $0 }
        parser.int("cluster.relay_max_payloads_per_statement", 1...100_000) { settings.cluster.relay.maxPayloadsPerStatement = $0 }
        parser.int("cluster.relay_receive_buffer", 1...10_000_000) { settings.cluster.relay.receiveBuffer = $0 }
        parser.bool("cluster.discovery") { settings.cluster.discovery.enabled = $0 }
        parser.int("cluster.discovery_port", 1...65535) { settings.cluster.discovery.port = $0 }
        parser.string("cluster.discovery_group") { settings.cluster.discovery.group = $0 }
        parser.string("cluster.discovery_interface") { settings.cluster.discovery.interface = $0 }
        parser.int("cluster.discovery_max_datagram_bytes", 64...65_507) { settings.cluster.discovery.maxDatagramBytes = $0 }
        parser.int("cluster.discovery_max_replies_per_second", 1...1_000_000) { settings.cluster.discovery.maxRepliesPerSecond = $0 }
        parser.duration("cluster.discovery_log_interval") { settings.cluster.discovery.logInterval = $0 }
        parser.duration("metrics.retention.raw") { settings.retention.raw = $0 }
        parser.duration("metrics.retention.minute") { settings.retention.minute = $0 }
        parser.duration("metrics.retention.hour") { settings.retention.hour = $0 }
        parser.duration("metrics.retention.check_interval") { settings.retentionCheckInterval = $0 }
        parser.bytes("disk.min_free_bytes") { settings.diskMinFreeBytes = $0 }
        parser.duration("disk.check_interval") { settings.diskCheckInterval = $0 }
        parser.duration("disk.full_log_interval") { settings.diskFullLogInterval = $0 }
        parser.int("metrics.memory_samples", 1...1_000_000) { settings.memorySamplesPerHost = $0 }
        parser.int("metrics.max_body_size", 256...(64 << 20)) { settings.maxMetricsBodySize = $0 }
        parser.double("metrics.rate_limit", 0.001...10_000) { settings.metricsRateLimit = $0 }
        parser.double("metrics.rate_burst", 1...100_000) { settings.metricsRateBurst = $0 }
        parser.double("metrics.backfill_rate_limit", 0.001...100_000) { settings.metricsBackfillRateLimit = $0 }
        parser.double("metrics.backfill_rate_burst", 1...1_000_000) { settings.metricsBackfillRateBurst = $0 }
        parser.duration("metrics.flush_interval") { settings.metricsFlushInterval = $0 }
        parser.int("metrics.max_batch", 1...1_000_000) { settings.metricsMaxBatch = $0 }
        parser.duration("metrics.commit_delay") { settings.metricsCommitDelay = $0 }
        parser.int("metrics.max_pending", 1...100_000_000) { settings.metricsMaxPending = $0 }
        parser.int("metrics.max_series", 1...1_000_000) { settings.metricsMaxSeries = $0 }
        parser.int("metrics.max_series_name_bytes", 16...65_536) { settings.metricsMaxSeriesNameBytes = $0 }
        parser.duration("metrics.max_clock_skew") { settings.metricsMaxClockSkew = $0 }
        // The token itself is hashed at once (``ScrapeToken``); the file is read here, so a bad path
        // fails the start with the key's name. The file wins over the plain value.
        var scrapeToken: String?
        var scrapeTokenFile: String?
        parser.string("metrics.scrape_token") { scrapeToken = $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        parser.string("metrics.scrape_token_file") { scrapeTokenFile = $0 }
        if let path = scrapeTokenFile {
            do {
                settings.metricsScrapeToken = try ScrapeToken.load(file: path, key: "metrics.scrape_token_file")
            } catch {
                parser.problems.append("\(error)")
            }
        } else if let token = scrapeToken {
            if token.isEmpty {
                parser.problems.append("metrics.scrape_token: expected a token, got only white space")
            } else {
                settings.metricsScrapeToken = ScrapeToken(token: token)
            }
        }

        parser.int("messages.max_content_bytes", 1...(16 << 20)) { settings.messageMaxContentBytes = $0 }
        parser.duration("messages.retention") { settings.messageRetention = $0 }
        parser.duration("messages.undelivered_retention") { settings.messageUndeliveredRetention = $0 }
        parser.double("messages.rate_limit", 0...10_000_000) { settings.messageRateLimit = $0 }
        parser.double("messages.rate_burst", 1...100_000_000) { settings.messageRateBurst = $0 }
        parser.int("messages.max_pending", 1...100_000_000) { settings.messageMaxPending = $0 }
        parser.int("messages.max_batch", 1...1_000_000) { settings.messageMaxBatch = $0 }
        parser.int("messages.max_in_flight", 1...1_000_000) { settings.messageMaxInFlight = $0 }

        parser.string("files.directory") { settings.filesDirectorySetting = $0 }
        parser.bytes("files.max_file_size") { settings.fileMaxSize = $0 }
        parser.bytes("files.quota_per_client") { settings.fileQuotaPerClient = $0 }
        parser.bytes("files.min_free_disk") { settings.fileMinFreeDisk = $0 }
        parser.int("files.chunk_size", 1024...(64 << 20)) { settings.fileChunkSize = $0 }
        parser.int("files.max_buffered_bytes", 64 << 10...(1 << 30)) { settings.fileMaxBufferedBytes = $0 }
        parser.bytes("files.sync_interval") { settings.fileSyncInterval = $0 }
        parser.int("files.max_concurrent_transfers", 1...1000) { settings.fileMaxConcurrentTransfers = $0 }
        parser.duration("files.partial_retention") { settings.filePartialRetention = $0 }
        parser.duration("files.push_answer_timeout") { settings.filePushAnswerTimeout = $0 }

        parser.int("auth.bcrypt_cost", 4...31) { settings.auth.bcryptCost = $0 }
        parser.duration("auth.access_token_ttl") { settings.auth.accessTokenTTL = $0 }
        parser.duration("auth.refresh_token_ttl") { settings.auth.refreshTokenTTL = $0 }
        parser.int("auth.login_failures_per_user", 1...1_000_000) { settings.auth.loginFailuresPerUser = $0 }
        parser.int("auth.login_failures_per_address", 1...1_000_000) { settings.auth.loginFailuresPerAddress = $0 }
        parser.duration("auth.login_failure_window") { settings.auth.loginFailureWindow = $0 }
        parser.int("auth.login_tracking_capacity", 100...100_000_000) { settings.auth.loginTrackingCapacity = $0 }
        parser.duration("auth.reload_interval") { settings.auth.reloadInterval = $0 }
        parser.int("auth.min_password_length", 1...AuthSettings.maxPasswordBytes) { settings.auth.minPasswordLength = $0 }
        parser.string("auth.initial_admin_name") { settings.auth.initialAdminName = $0 }
        parser.string("auth.initial_admin_password") { settings.auth.initialAdminPassword = $0 }

        parser.duration("stream.auth_timeout") { settings.stream.authTimeout = $0 }
        parser.duration("stream.session_check_interval") { settings.stream.sessionCheckInterval = $0 }
        parser.duration("stream.fleet_interval") { settings.stream.fleetInterval = $0 }
        parser.int("stream.max_queued_messages", 1...1_000_000) { settings.stream.maxQueuedMessages = $0 }
        parser.int("stream.max_queued_bytes", 1024...(1 << 30)) { settings.stream.maxQueuedBytes = $0 }
        parser.int("stream.max_clients", 1...1_000_000) { settings.stream.maxClients = $0 }
        parser.int("stream.max_message_size", 256...(16 << 20)) { settings.stream.maxMessageSize = $0 }
        parser.int("stream.max_topics", 1...1_000_000) { settings.stream.maxTopics = $0 }
        parser.int("stream.max_pending_items", 1...100_000_000) { settings.stream.maxPendingItems = $0 }
        parser.duration("stream.close_timeout") { settings.stream.closeTimeout = $0 }
        parser.int("reload.history", 1...100_000) { settings.reloadHistory = $0 }

        parser.string("alerting.file") { settings.alerting.file = $0 }
        parser.bool("alerting.default_rules") { settings.alerting.defaultRules = $0 }
        parser.string("alerting.external_url") { settings.alerting.externalURL = $0 }
        parser.duration("alerting.tick") { settings.alerting.tick = $0 }
        parser.int("alerting.max_open_notifications", 1...10_000_000) { settings.alerting.maxOpenNotifications = $0 }
        parser.int("alerting.max_alerts_per_notification", 1...10_000) { settings.alerting.maxAlertsPerNotification = $0 }
        parser.int("alerting.delivery_concurrency", 1...256) { settings.alerting.deliveryConcurrency = $0 }
        parser.duration("alerting.delivery_timeout") { settings.alerting.deliveryTimeout = $0 }
        parser.duration("alerting.retry_initial") { settings.alerting.retryInitial = $0 }
        parser.duration("alerting.retry_max") { settings.alerting.retryMax = $0 }
        parser.int("alerting.max_attempts", 1...1000) { settings.alerting.maxAttempts = $0 }
        parser.duration("alerting.history_retention") { settings.alerting.historyRetention = $0 }
        parser.duration("alerting.delivery_log_retention") { settings.alerting.deliveryLogRetention = $0 }

        if let problem = parser.problems.first {
            throw ConfigurationError(description: parser.problems.count == 1 ? problem : parser.problems.joined(separator: "; "))
        }
        try settings.validate()
        return LoadedConfiguration(
            settings: settings, values: parser.values, keys: parser.keys,
            source: ConfigurationSource(file: file, environment: environment, overrides: overrides)
        )
    }

    /// Checks relations between settings that no single value can.
    /// Room for a delivered message's envelope besides its content (ids, sender, timestamps, seq).
    static let deliveryEnvelopeAllowance = 4096

    public func validate() throws {
        // A lease shorter than two election rounds would let a healthy leader lose it between renewals.
        guard self.cluster.leaderLease >= self.cluster.electionInterval * 2 else {
            throw ConfigurationError(description: "cluster.leader_lease must be at least twice cluster.election_interval (got \(self.cluster.leaderLease.compactDescription) and \(self.cluster.electionInterval.compactDescription))")
        }
        guard self.cluster.memberTimeout >= self.cluster.heartbeatInterval * 2 else {
            throw ConfigurationError(description: "cluster.member_timeout must be at least twice cluster.heartbeat_interval (got \(self.cluster.memberTimeout.compactDescription) and \(self.cluster.heartbeatInterval.compactDescription))")
        }
        try self.cluster.discovery.validate(storage: self.storage)
        guard self.heartbeatInterval >= .milliseconds(100) else {
            throw ConfigurationError(description: "heartbeat.interval must be at least 100ms (got \(self.heartbeatInterval.compactDescription))")
        }
        if let metrics = self.metricsInterval, metrics < .milliseconds(100) {
            throw ConfigurationError(description: "agents.metrics_interval must be at least 100ms (got \(metrics.compactDescription))")
        }
        for (key, value, minimum) in [
            ("agents.handshake_timeout", self.handshakeTimeout, Duration.milliseconds(10)),
            ("agents.revocation_check_interval", self.revocationCheckInterval, Duration.milliseconds(50)),
            ("liveness.check_interval", self.checkInterval, Duration.milliseconds(10)),
            ("liveness.persist_interval", self.persistInterval, Duration.milliseconds(100)),
            ("liveness.reconnect_grace", self.reconnectGrace, Duration.zero),
            ("liveness.restart_grace", self.restartGrace, Duration.zero),
            ("cluster.relay_flush_interval", self.cluster.relay.flushInterval, Duration.milliseconds(1)),
            ("metrics.flush_interval", self.metricsFlushInterval, Duration.milliseconds(10)),
            ("metrics.retention.check_interval", self.retentionCheckInterval, Duration.seconds(1)),
            ("metrics.retention.raw", self.retention.raw, Duration.seconds(3600)),
            ("disk.check_interval", self.diskCheckInterval, Duration.milliseconds(100)),
            ("disk.full_log_interval", self.diskFullLogInterval, Duration.seconds(1)),
            ("alerting.tick", self.alerting.tick, Duration.milliseconds(50)),
            ("alerting.delivery_timeout", self.alerting.deliveryTimeout, Duration.milliseconds(100)),
            ("alerting.retry_initial", self.alerting.retryInitial, Duration.milliseconds(10)),
            ("alerting.retry_max", self.alerting.retryMax, Duration.milliseconds(10)),
            ("alerting.history_retention", self.alerting.historyRetention, Duration.seconds(3600)),
            ("alerting.delivery_log_retention", self.alerting.deliveryLogRetention, Duration.seconds(3600)),
        ] where value < minimum {
            throw ConfigurationError(description: "\(key) must be at least \(minimum.compactDescription) (got \(value.compactDescription))")
        }
        guard self.fileChunkSize + FileDataFrame.headerSize <= self.maxFrameSize else {
            throw ConfigurationError(description: "files.chunk_size (\(self.fileChunkSize)) plus the \(FileDataFrame.headerSize)-byte data frame header must fit agents.max_frame_size (\(self.maxFrameSize))")
        }
        // A delivered CLIENT_MESSAGE carries the content JSON-escaped (up to 6 bytes per byte,
        // `\u0001`) plus the envelope; a message the server accepted must fit the frame it is delivered in.
        let (worstContent, overflow) = self.messageMaxContentBytes.multipliedReportingOverflow(by: 6)
        guard !overflow, worstContent <= self.maxFrameSize - Self.deliveryEnvelopeAllowance else {
            throw ConfigurationError(description: "messages.max_content_bytes (\(self.messageMaxContentBytes)) is too large for agents.max_frame_size (\(self.maxFrameSize)): content × 6 (worst-case JSON escaping) + \(Self.deliveryEnvelopeAllowance) must fit a delivery frame; at most \(max(0, (self.maxFrameSize - Self.deliveryEnvelopeAllowance) / 6))")
        }
        guard self.fileMaxBufferedBytes >= self.fileChunkSize * 2 else {
            throw ConfigurationError(description: "files.max_buffered_bytes (\(self.fileMaxBufferedBytes)) must hold at least two chunks of files.chunk_size (\(self.fileChunkSize))")
        }
        guard self.retention.raw <= self.retention.minute, self.retention.minute <= self.retention.hour else {
            throw ConfigurationError(description: "metrics.retention must not shrink with coarser resolution: raw \(self.retention.raw.compactDescription) <= minute \(self.retention.minute.compactDescription) <= hour \(self.retention.hour.compactDescription)")
        }
        if let directory = self.dashboardDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ConfigurationError(description: "dashboard.directory \(directory) is not a directory (it replaces the built-in dashboard files; leave it unset to use those)")
            }
        }
        guard self.phiSuspectThreshold < self.phiDownThreshold else {
            throw ConfigurationError(description: "liveness.phi_suspect (\(self.phiSuspectThreshold)) must be below liveness.phi_down (\(self.phiDownThreshold))")
        }
        guard self.heartbeatInterval + self.silenceMargin < self.heartbeatInterval * self.maxMissedHeartbeats else {
            throw ConfigurationError(description: "heartbeat.interval + liveness.silence_margin must be below liveness.max_missed_heartbeats intervals")
        }
        guard self.idleTimeout > self.heartbeatInterval * self.maxMissedHeartbeats else {
            throw ConfigurationError(description: "liveness.idle_timeout must exceed liveness.max_missed_heartbeats intervals")
        }
        try self.tls.validate()
        try self.auth.validate()
        try self.stream.validate()
        try self.http.validate()
    }
}

/// Reads each key as a string (the one type every provider can give) and parses it here, so a bad
/// value is an error that names its key rather than a silent fallback to the default.
extension ServerSettings {
    /// `store.postgres.*`: the URL (no password in it), the password from a file or the
    /// environment (`VIGIL_STORE_POSTGRES_PASSWORD`), the pool size and the connect timeout.
    fileprivate static func parsePostgres(_ parser: inout SettingsParser, into settings: inout ServerSettings) {
        var url: String?
        var password: String?
        var passwordFile: String?
        var maxConnections: Int?
        var connectTimeout: Duration?
        parser.string("store.postgres.url") { url = $0 }
        parser.string("store.postgres.password") { password = $0 }
        parser.string("store.postgres.password_file") { passwordFile = $0 }
        parser.int("store.postgres.max_connections", 1...1000) { maxConnections = $0 }
        parser.duration("store.postgres.connect_timeout") { connectTimeout = $0 }
        guard settings.storage == .postgres else { return }
        guard let url else {
            parser.problems.append("store.postgres.url: required with store.backend postgres (postgres://user@host:5432/database)")
            return
        }
        if let passwordFile {
            do {
                let text = try String(contentsOfFile: passwordFile, encoding: .utf8)
                password = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            } catch {
                parser.problems.append("store.postgres.password_file: cannot read \(passwordFile): \(error.localizedDescription)")
                return
            }
        }
        do {
            var postgres = try PostgresStoreSettings(url: url, password: password)
            if let maxConnections { postgres.maxConnections = maxConnections }
            if let connectTimeout { postgres.connectTimeout = connectTimeout }
            settings.postgres = postgres
        } catch {
            parser.problems.append("store.postgres.url: \(error)")
        }
    }
}

private struct SettingsParser {
    let reader: ConfigReader
    var problems: [String] = []
    /// Every key asked for, in order: the whole set of keys there are.
    var keys: [String] = []
    /// Each key's value as configured (flags, environment or file; a list joined with commas).
    var values: [String: String] = [:]

    mutating func parse<T>(_ key: String, _ expected: String, _ convert: (String) -> T?, apply: (T) -> Void) {
        self.keys.append(key)
        guard let text = self.reader.string(forKey: ConfigKey(stringLiteral: key)) else { return }
        self.values[key] = text
        guard let value = convert(text) else {
            self.problems.append("\(key): expected \(expected), got \"\(text)\"")
            return
        }
        apply(value)
    }

    mutating func string(_ key: String, apply: (String) -> Void) {
        self.parse(key, "a string", { $0.isEmpty ? nil : $0 }, apply: apply)
    }

    mutating func int(_ key: String, _ range: ClosedRange<Int>, apply: (Int) -> Void) {
        self.parse(key, "an integer in \(range.lowerBound)...\(range.upperBound)", { Int($0).flatMap { range.contains($0) ? $0 : nil } }, apply: apply)
    }

    mutating func double(_ key: String, _ range: ClosedRange<Double>, apply: (Double) -> Void) {
        self.parse(key, "a number in \(range.lowerBound)...\(range.upperBound)", { Double($0).flatMap { range.contains($0) ? $0 : nil } }, apply: apply)
    }

    mutating func bool(_ key: String, apply: (Bool) -> Void) {
        self.parse(key, "true or false", { ["true": true, "yes": true, "1": true, "false": false, "no": false, "0": false][$0.lowercased()] }, apply: apply)
    }

    /// A byte count: a plain integer, or one with a unit (`512KiB`, `64MiB`, `4GiB`, `1TiB`; `KB`, `MB`, … are powers of 1000).
    mutating func bytes(_ key: String, apply: (UInt64) -> Void) {
        self.parse(key, "a size such as 1048576, 64MiB or 4GiB", SettingsParser.parseBytes, apply: apply)
    }

    static func parseBytes(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isNumber }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        guard let number = UInt64(digits) else { return nil }
        let multipliers: [String: UInt64] = [
            "": 1, "b": 1,
            "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tib": 1 << 40,
            "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000, "tb": 1_000_000_000_000,
        ]
        guard let multiplier = multipliers[unit] else { return nil }
        let (value, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : value
    }

    /// Client ids: a YAML list, or one string with the ids separated by commas (`alice,bob`, as an
    /// environment variable or a flag gives it). Every id must pass ``ClientName``.
    mutating func clientNames(_ key: String, apply: ([String]) -> Void) {
        let configKey = ConfigKey(stringLiteral: key)
        self.keys.append(key)
        let names: [String]
        if let text = self.reader.string(forKey: configKey) {
            names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        } else if let list = self.reader.stringArray(forKey: configKey) {
            names = list
        } else {
            return
        }
        self.values[key] = names.joined(separator: ",")
        if let bad = names.first(where: { !ClientName.isValid($0) }) {
            self.problems.append("\(key): \(bad.logEscaped) is not a client id: expected \(ClientName.rule)")
            return
        }
        apply(names)
    }

    /// A YAML list, or one string with the items separated by commas (an environment variable or a flag).
    mutating func list(_ key: String, apply: ([String]) -> Void) {
        let configKey = ConfigKey(stringLiteral: key)
        self.keys.append(key)
        if let text = self.reader.string(forKey: configKey) {
            self.values[key] = text
            apply(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        } else if let list = self.reader.stringArray(forKey: configKey) {
            self.values[key] = list.joined(separator: ",")
            apply(list)
        }
    }

    mutating func duration(_ key: String, apply: (Duration) -> Void) {
        self.parse(key, "a duration such as 500ms, 30s, 5m", Duration.init(parsing:), apply: apply)
    }
}
