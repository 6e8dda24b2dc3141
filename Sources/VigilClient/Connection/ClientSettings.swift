import VigilConnection

/// Everything a ``ClientConnection`` needs; each limit and time is named here with its default.
public struct ClientSettings: Sendable {
    /// The server's agent listener.
    public var host: String
    public var port: Int
    /// More servers of the same cluster to fail over to (`--server` given more than once). The
    /// members a cluster's register reply names (`session.servers`) are added to these.
    public var otherServers: [ServerAddress] = []
    /// The name to register as (`kind: "user"`). With a key, the key's name wins on the server.
    public var name: String
    /// An agent key bound to ``name`` (`vigil keys create --host NAME`), or `nil` against a server
    /// with open enrollment.
    public var key: String?
    /// What the client announces, e.g. `["heartbeat", "notices"]` (`notices`: the server's host
    /// DOWN / RECOVERED notices arrive as messages).
    public var capabilities: [String] = ["heartbeat"]
    /// This connection only sends (`vigil send`, `vigil send-file`): it registers with capability
    /// `send_only`, so the server delivers none of the name's mail to it (the person's chat gets
    /// it) and does not close the person's chat for it; it never acknowledges or drops a message.
    public var sendOnly = false
    /// The client software, e.g. `vigil-chat/0.1.0`.
    public var clientVersion: String = "vigil-client/\(ClientSettings.version)"
    /// TLS with the server's CA pinned (`--token`, `--ca`); `nil` connects in plaintext (a server
    /// allows that from loopback by default).
    public var tls: ClientTLS?
    /// TCP connect timeout per attempt.
    public var connectTimeout: Duration = .seconds(5)
    /// How long to wait for the register reply.
    public var registerTimeout: Duration = .seconds(10)
    /// Heartbeat interval used until the server sets one in its register reply.
    public var defaultHeartbeatInterval: Duration = .seconds(30)
    /// The heartbeat interval a server may set is clamped to this range.
    public var heartbeatIntervalRange: ClosedRange<Duration> = .milliseconds(100) ... .seconds(3600)
    /// Heartbeats without acknowledgement before the server is considered gone and the client reconnects.
    public var maxUnacknowledgedHeartbeats = 3
    /// First reconnect delay; doubles per failed attempt, with full jitter.
    public var backoffInitial: Duration = .milliseconds(250)
    /// The cap on the reconnect delay.
    public var backoffMax: Duration = .seconds(15)
    /// A session must last this long for the reconnect backoff to start again from `backoffInitial`.
    public var backoffResetAfter: Duration = .seconds(10)
    /// Stop (``ClientExit/gaveUp(_:)``) when no registration succeeded for this long, counted from
    /// the start or from the last lost session; `nil` retries for ever (an interactive chat).
    public var giveUpAfter: Duration?
    /// On leaving, how long to wait for the server to acknowledge `CLIENT_UNREGISTER`.
    public var unregisterTimeout: Duration = .seconds(2)
    /// The largest frame accepted from the server, in bytes.
    public var maxFrameSize = 1 << 20
    /// Own messages written and not yet acknowledged by the server at most; later ones wait in the
    /// outbox (so a script sending a flood does not fill the server's queue at once).
    public var maxMessagesInFlight = 1000
    /// Received message ids remembered to drop redeliveries (the server delivers at least once).
    public var rememberedMessageIDs = 10_000
    /// A message the server refused for a passing reason (`rate_limited`, `server_busy`) is sent
    /// again after this long.
    public var retryRefusedAfter: Duration = .seconds(1)
    /// The most file bytes put in one data frame, whatever the server allows.
    public var maxChunkSize = 4 << 20

    public init(host: String, port: Int, name: String, key: String?) {
        self.host = host
        self.port = port
        self.name = name
        self.key = key
    }

    /// This client library's version.
    public static let version = "0.1.0"
}

extension ClientSettings: CustomStringConvertible {
    /// Everything but the key, so interpolating the settings into a log line cannot leak it.
    public var description: String {
        "ClientSettings(server: \(self.host):\(self.port), name: \(self.name.debugDescription), key: \(self.key == nil ? "none" : "<hidden>"))"
    }
}
