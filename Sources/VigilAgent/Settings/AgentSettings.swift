import VigilConnection
/// Everything `vigil-agent` needs; each limit and time is named here with its default.
public struct AgentSettings: Sendable {
    /// Servers in order of preference; the agent fails over through them.
    public var servers: [ServerAddress]
    /// The agent key (`vk_…`); `nil` only against a server with open enrollment.
    public var key: String?
    /// The name reported at registration (the key's host wins on the server).
    public var hostname: String
    public var agentVersion: String = "vigil-agent/\(VigilAgent.version)"
    /// TLS with the server's CA pinned; `nil` connects in plaintext (a server allows that from
    /// loopback by default). Set when the configuration has a CA fingerprint or a CA file.
    public var tls: ClientTLS?
    /// TCP connect timeout per attempt.
    public var connectTimeout: Duration = .seconds(5)
    /// How long to wait for the register reply.
    public var registerTimeout: Duration = .seconds(10)
    /// Heartbeat interval used until the server sets one in its register reply.
    public var defaultHeartbeatInterval: Duration = .seconds(30)
    /// Heartbeats without acknowledgement before the server is considered gone and the agent reconnects.
    public var maxUnacknowledgedHeartbeats = 3
    /// First reconnect delay; doubles per failed round through the server list, with full jitter.
    public var backoffInitial: Duration = .milliseconds(500)
    /// The cap on the reconnect delay.
    public var backoffMax: Duration = .seconds(30)
    /// Cluster redirects (`redirect`) followed in a row without a registration in between; past
    /// them the agent falls back to its list of servers, so two members that each think the other
    /// has room cannot bounce it forever.
    public var maxConsecutiveRedirects = 3
    /// On shutdown, how long to wait for the server to acknowledge `CLIENT_UNREGISTER`.
    public var unregisterTimeout: Duration = .seconds(2)
    /// The largest frame accepted from the server, in bytes.
    public var maxFrameSize = 1 << 20
    /// A session must last this long for the reconnect backoff to start again from
    /// `backoffInitial`; a server that accepts and drops the agent at once gets growing delays.
    public var backoffResetAfter: Duration = .seconds(10)
    /// The heartbeat interval a server may set is clamped to this range.
    public var heartbeatIntervalRange: ClosedRange<Duration> = .milliseconds(100) ... .seconds(3600)
    /// How often the host's metrics are sampled and sent as `METRICS` frames. `.zero` (or less)
    /// disables metrics: no sampling, no `"metrics"` capability, heartbeats only. Positive values
    /// below 100 ms are raised to 100 ms. Metrics also need a sampler (``VigilAgent/init(settings:shutdown:logger:group:sampler:)``).
    public var metricsInterval: Duration = .seconds(5)
    /// A server that keeps refusing samples (`rate_limited`, `invalid_field`) gets one warning per
    /// this long in the log, with the count of refusals since the previous warning; the rest are debug lines.
    public var metricsRefusalLogInterval: Duration = .seconds(60)
    /// Where files the server passes on to this host are stored (`vigil send-file --to HOST`);
    /// `nil` refuses them ("this agent does not accept files").
    public var inbox: String?
    /// A file being received is fsynced (and its resume point recorded) every this many bytes.
    public var inboxSyncInterval: UInt64 = 8 << 20
    /// File bytes per data frame asked of the server (FILE_READY's chunk size).
    public var inboxChunkSize = 256 << 10
    /// File bytes received and not yet written beyond this stop the reading of the connection.
    public var inboxMaxBufferedBytes = 8 << 20
    /// A file is refused when storing it would leave less than this free in the inbox's file system.
    public var inboxMinFreeDisk: UInt64 = 256 << 20
    /// The on-disk spool for samples no server took (`spool.*`); `nil`: such samples are dropped.
    /// `vigil-agent` spools into `spool/` of its configuration directory unless told otherwise
    /// (``load(options:environment:defaultHostname:isRoot:)``).
    public var spool: SpoolSettings?

    public init(servers: [ServerAddress], key: String?, hostname: String) {
        self.servers = servers
        self.key = key
        self.hostname = hostname
    }
}

extension AgentSettings: CustomStringConvertible {
    /// Everything but the key, so interpolating the settings into a log line cannot leak it.
    public var description: String {
        "AgentSettings(servers: \(self.servers), key: \(self.key == nil ? "none" : "<hidden>"), hostname: \(self.hostname.debugDescription), tls: \(self.tls.map { "pinned \($0.trust.pin)" } ?? "off"))"
    }
}
