import Foundation
import Logging
import VigilPostgres
import VigilStore

/// Every setting of `vigil server`, with its default. docs/OPERATIONS.md lists them with their keys.
///
/// Defaults that depend on the heartbeat interval are resolved by the computed properties below, so
/// changing `heartbeat.interval` alone scales the whole failure detector.
public struct ServerSettings: Sendable, Equatable {
    // MARK: Process
    /// Where the database and other state live. Default: `/var/lib/vigil` for root, else `~/.local/share/vigil`.
    public var dataDirectory: String = ServerSettings.defaultDataDirectory
    /// Overrides the server id stored in the database (useful in clusters).
    public var serverID: String?
    public var logLevel: Logger.Level = .info

    // MARK: Agent listener (TCP, framed)
    /// Bind address for agents. Loopback unless asked otherwise: agents on other hosts need `0.0.0.0`.
    public var agentHost = "127.0.0.1"
    public var agentPort = 5001
    /// The largest frame payload accepted, in bytes.
    public var maxFrameSize = 1 << 20
    /// Time from accept to a valid `CLIENT_REGISTER`; the deadline is total, so a slow trickle cannot extend it.
    public var handshakeTimeout: Duration = .seconds(10)
    /// Connections beyond this are answered `server_full` and closed.
    public var maxConnections = 100_000
    /// Protocol errors tolerated on one registered connection before it is closed.
    public var maxProtocolErrors = 10
    /// After a fatal answer, how long its write may take before the connection is closed anyway
    /// (a peer that does not read must not hold the connection open).
    public var closeTimeout: Duration = .seconds(5)
    /// Accept agents without a key, identified by the hostname they send. For local use only.
    public var openEnrollment = false
    /// Client ids admitted without a key as protocol version 0 (the envelope-only messaging client,
    /// PROTOCOL.md §13) while open enrollment is off.
    public var legacyClients: Set<String> = []
    /// Who may connect to the agent port without TLS (`agents.plaintext`: `loopback`, `never`, or
    /// CIDR blocks); anyone else is answered `tls_required` and closed. Moot while `tls.enabled` is false.
    public var agentPlaintext: PlaintextPolicy = .loopback
    /// Where agents reach this server (`host:port`), written into enrollment tokens
    /// (`agents.advertise`). Default: ``advertisedAgentAddresses(boundPort:)``.
    public var agentAdvertise: [String] = []
    /// How often the server looks for keys revoked outside it (`vigil keys revoke`, another server)
    /// to close their live sessions (`agents.revocation_check_interval`).
    public var revocationCheckInterval: Duration = .milliseconds(500)

    // MARK: HTTP
    public var httpHost = "127.0.0.1"
    public var httpPort = 5000
    /// Timeouts, head size and connection count of the HTTP listener (`http.*`).
    public var http = HTTPLimits()
    /// Who may speak plain HTTP to the HTTP port (`http.plaintext`); anyone else must use HTTPS.
    public var httpPlaintext: PlaintextPolicy = .loopback
    /// `Strict-Transport-Security` max-age sent while TLS is on (`http.hsts_max_age`; 0 sends none).
    public var hstsMaxAge: Duration = .seconds(365 * 86_400)
    /// The most points one `/history` answer may hold; a larger request is asked for a larger step.
    public var maxHistoryPoints = 50_000
    /// The most `metric` parameters one `/stats` request may name.
    public var maxStatsMetrics = 100
    /// Serve the dashboard's files from this directory instead of the copies built into the binary
    /// (for developing the dashboard without rebuilding). Default: unset (the built-in copies).
    public var dashboardDirectory: String?

    // MARK: TLS
    /// Encryption on both ports (`tls.*`).
    public var tls = TLSSettings()

    // MARK: Alerting
    /// Rules, channels and routes (`alerting.*`).
    public var alerting = AlertingSettings()

    // MARK: Heartbeats and failure detection
    /// The interval agents are told to keep.
    public var heartbeatInterval: Duration = .seconds(30)
    /// The metrics sampling interval agents are told to keep (`agents.metrics_interval`). Default:
    /// unset, each agent keeps its own (`metrics_interval` of the agent's configuration).
    public var metricsInterval: Duration?
    /// After a connection drops without unregister, how long a reconnect is awaited before DOWN. Default: 1 interval.
    public var reconnectGraceSetting: Duration?
    /// After a server start, how long previously connected agents have to come back. Default: max(3 intervals, 10 s).
    public var restartGraceSetting: Duration?
    /// Silence is never DOWN before interval + margin. Default: half an interval.
    public var silenceMarginSetting: Duration?
    /// Silence is always DOWN after this many intervals.
    public var maxMissedHeartbeats = 3.0
    /// Phi above which a silent host becomes SUSPECT.
    public var phiSuspectThreshold = 3.0
    /// Phi above which a silent host becomes DOWN (within the floor and ceiling above).
    public var phiDownThreshold = 8.0
    /// Heartbeats after RECOVERED before the host counts as HEALTHY again.
    public var recoveryHeartbeats = 2
    /// A registered connection silent this long is closed (the host is long DOWN by then). Default: 10 intervals.
    public var idleTimeoutSetting: Duration?
    /// How often the detector looks at every host. Default: interval / 10, between 50 ms and 1 s.
    public var checkIntervalSetting: Duration?
    /// How often last-seen times are written to the store.
    public var persistInterval: Duration = .seconds(10)

    // MARK: Storage and metrics history
    /// `sqlite` (the default: durable history in the data directory) or `memory` (no disk at all:
    /// keys, agents and events in an in-memory database, the last `metrics.memory_samples` samples
    /// per host; everything is gone when the server stops).
    public var storage: StorageKind = .sqlite
    /// Where the PostgreSQL store is, with `storage: postgres` (`store.postgres.*`).
    public var postgres: PostgresStoreSettings?
    /// Membership and leadership among servers sharing the PostgreSQL store (`cluster.*`).
    public var cluster = ClusterSettings()
    /// How long raw samples and the per-minute and per-hour rollups are kept.
    public var retention = MetricsRetention()
    /// How often expired history is deleted.
    public var retentionCheckInterval: Duration = .seconds(600)
    /// Below this many bytes free in the data directory's file system the disk counts as full:
    /// metrics samples are refused (`storage_full`) so that sessions and registrations keep room.
    public var diskMinFreeBytes: UInt64 = 8 << 20
    /// How often free space is checked (so a full disk is noticed, and its end too, without a write).
    public var diskCheckInterval: Duration = .seconds(5)
    /// While the disk is full, the condition is logged again at most this often.
    public var diskFullLogInterval: Duration = .seconds(60)
    /// Samples kept per host with `storage: memory`.
    public var memorySamplesPerHost = 1000
    /// The largest `POST /api/metrics` body accepted, in bytes.
    public var maxMetricsBodySize = 1 << 20
    /// Samples per second a host may send, sustained (over TCP and HTTP together).
    public var metricsRateLimit = 2.0
    /// Samples a host may send in a burst above the sustained rate.
    public var metricsRateBurst = 20.0
    /// Back-filled samples (older than the host's latest: an agent replaying its spool after an
    /// outage) per second a host may send, sustained; a budget of their own, so a replay neither
    /// eats the live samples' budget nor is refused by it.
    public var metricsBackfillRateLimit = 100.0
    /// Back-filled samples a host may send at once above their sustained rate.
    public var metricsBackfillRateBurst = 100.0
    /// How long a sender refused with `server_busy` is asked to wait (`Retry-After`).
    public var metricsFlushInterval: Duration = .seconds(1)
    /// The most samples in one write transaction; a batch this full is written at once.
    public var metricsMaxBatch = 5000
    /// Group commit: the least time between the starts of two metrics writes; what arrives in
    /// between is written together (unless a batch fills first). An idle writer writes at once, so
    /// a quiet server acknowledges a sample after one commit, while a busy one writes a few large
    /// transactions a second instead of one per sample (each costs a pass over the open blocks and
    /// an fsync).
    public var metricsCommitDelay: Duration = .milliseconds(20)
    /// Samples waiting to be written beyond this are refused (`server_busy`, HTTP 503) rather than
    /// letting memory grow while the disk cannot keep up.
    public var metricsMaxPending = 200_000
    /// Numeric series in one sample, so a hostile document cannot create unbounded columns (a large
    /// host has a few hundred: cores, disks, interfaces).
    public var metricsMaxSeries = 4096
    /// Bytes in one series name (the name includes a mount point or an interface name).
    public var metricsMaxSeriesNameBytes = 512
    /// A sample stamped further ahead of the server's clock than this is refused (a broken clock).
    public var metricsMaxClockSkew: Duration = .seconds(300)

    // MARK: Prometheus
    /// The bearer token that opens `GET /metrics` and `GET /metrics/fleet` besides a viewer's session
    /// token (`metrics.scrape_token_file`, or `metrics.scrape_token` from the environment). Only its
    /// SHA-256 is kept. `nil`: only session tokens open them.
    public var metricsScrapeToken: ScrapeToken?

    // MARK: Messages
    /// The longest `CLIENT_MESSAGE` content (and `POST /api/messages` content), in UTF-8 bytes.
    public var messageMaxContentBytes = 64 << 10
    /// Delivered messages are deleted once older than this (`GET /api/messages` shows no older ones).
    public var messageRetention: Duration = .seconds(30 * 86_400)
    /// Messages still undelivered this long after they were stored are deleted, with a log line
    /// (a recipient that never returns must not hold the mailbox for ever).
    public var messageUndeliveredRetention: Duration = .seconds(90 * 86_400)
    /// Messages one client may send per second, sustained (0 = no limit).
    public var messageRateLimit = 1000.0
    /// Messages one client may send in a burst above the sustained rate.
    public var messageRateBurst = 10_000.0
    /// Messages accepted but not yet stored beyond this are refused (`server_busy`).
    public var messageMaxPending = 100_000
    /// Messages stored in one transaction at most (group commit: whatever waited during the last write).
    public var messageMaxBatch = 5000
    /// Messages sent to one recipient and not yet acknowledged by it. Past this, new messages wait
    /// in the store and are sent as acknowledgements come back (a slow reader cannot grow server memory).
    public var messageMaxInFlight = 1000

    // MARK: Files
    /// Where received files are stored, one directory per sending client. Default: `<data_dir>/files`.
    public var filesDirectorySetting: String?
    /// The largest file accepted, in bytes (`file_too_large` before any byte is sent).
    public var fileMaxSize: UInt64 = 16 << 30
    /// Bytes of stored files one client may have on the server, this offer included (`over_quota`).
    public var fileQuotaPerClient: UInt64 = 64 << 30
    /// An offer is refused (`insufficient_disk`) when storing it would leave less than this free.
    public var fileMinFreeDisk: UInt64 = 1 << 30
    /// File bytes per data frame the server asks senders for (at most the frame size less 25 bytes of header).
    public var fileChunkSize = 256 << 10
    /// Bytes of one transfer received but not yet written to disk; above this the connection stops
    /// being read until the disk catches up (backpressure instead of memory).
    public var fileMaxBufferedBytes = 8 << 20
    /// A partial file is fsynced (and its resume point recorded) every this many bytes.
    public var fileSyncInterval: UInt64 = 64 << 20
    /// Transfers open at once on one connection.
    public var fileMaxConcurrentTransfers = 4
    /// An interrupted transfer's partial file is kept this long for a resume, then deleted.
    public var filePartialRetention: Duration = .seconds(86_400)
    /// How long a file being passed on waits for the recipient's `FILE_READY`/`FILE_REJECT` after the
    /// offer, and for its `FILE_SAVED`/`FILE_FAILED` after the last byte; then it is set aside until
    /// the client's next connection and the next file is offered.
    public var filePushAnswerTimeout: Duration = .seconds(60)

    // MARK: Users and sessions
    /// Sign-in, tokens and the first admin (`auth.*`).
    public var auth = AuthSettings()

    // MARK: Live stream
    /// `GET /api/stream` (`stream.*`).
    public var stream = StreamSettings()

    // MARK: Configuration reloads
    /// Reload outcomes kept for `GET /api/admin/reloads` (`reload.history`).
    public var reloadHistory = 50

    public init() {}

    /// Where received files are stored.
    public var filesDirectory: String { self.filesDirectorySetting ?? (self.dataDirectory + "/files") }

    public var reconnectGrace: Duration { self.reconnectGraceSetting ?? self.heartbeatInterval }
    public var restartGrace: Duration { self.restartGraceSetting ?? max(self.heartbeatInterval * 3, .seconds(10)) }
    public var silenceMargin: Duration { self.silenceMarginSetting ?? self.heartbeatInterval / 2 }
    public var idleTimeout: Duration { self.idleTimeoutSetting ?? self.heartbeatInterval * 10 }
    public var checkInterval: Duration {
        self.checkIntervalSetting ?? min(max(self.heartbeatInterval / 10, .milliseconds(50)), .seconds(1))
    }

    /// The names the generated server certificate is valid for: `tls.names`, or this machine's host
    /// name, `localhost`, the loopback addresses, and the bind addresses when they are specific.
    public var tlsNames: [String] {
        if !self.tls.names.isEmpty { return self.tls.names }
        var names = [ProcessInfo.processInfo.hostName, "localhost", "127.0.0.1", "::1"]
        for host in [self.agentHost, self.httpHost] where !["0.0.0.0", "::", "*", ""].contains(host) {
            names.append(host)
        }
        var seen = Set<String>()
        return names.filter { !$0.isEmpty && seen.insert($0.lowercased()).inserted }
    }

    /// The addresses enrollment tokens send agents to: `agents.advertise`, or the agent bind address
    /// with the agent port (this machine's host name when bound to every address).
    ///
    /// - Parameter boundPort: The port actually bound, when `agents.port` is 0.
    public func advertisedAgentAddresses(boundPort: Int? = nil) -> [String] {
        if !self.agentAdvertise.isEmpty { return self.agentAdvertise }
        let host = ["0.0.0.0", "::", "*", ""].contains(self.agentHost) ? ProcessInfo.processInfo.hostName : self.agentHost
        let port = boundPort ?? self.agentPort
        return [host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"]
    }

    /// The default data directory for the current user.
    public static var defaultDataDirectory: String {
        if getuid() == 0 { return "/var/lib/vigil" }
        let environment = ProcessInfo.processInfo.environment
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/vigil" }
        return (environment["HOME"] ?? ".") + "/.local/share/vigil"
    }
}

/// Where the server keeps its state.
public enum StorageKind: String, Sendable, Equatable, CaseIterable {
    case sqlite
    case memory
    /// A PostgreSQL database (`store.postgres.*`), which several servers may share.
    case postgres

    /// Whether the server keeps files of its own in the data directory (its TLS material, the
    /// lock, the reload status; and with SQLite, the databases).
    public var usesDataDirectory: Bool { self != .memory }
}
