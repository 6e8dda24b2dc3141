import Logging
import Synchronization

/// What every agent connection shares: settings, identity, the tracker, the authenticator and the metrics ingestor.
public final class SessionEnvironment: Sendable {
    /// The settings the server started with (what a connection fixes when it opens).
    public let settings: ServerSettings
    /// The settings in force now: what a registration tells the client (intervals) may change on reload.
    public let live: LiveSettings
    public let serverID: String
    public let tracker: LivenessTracker
    public let authenticator: AgentAuthenticator
    /// Where `METRICS` frames go.
    public let metrics: MetricsIngestor
    /// Where `CLIENT_MESSAGE`s go, and who is online.
    public let messages: MessageService
    /// Where offered files go.
    public let files: FileService
    public let logger: Logger
    /// Registered sessions by key and by client, so revocations end them at once.
    public let registeredSessions = RegisteredSessions()
    /// The live members' agent addresses, for the register reply (`session.servers`); empty for a single server.
    let clusterServers: @Sendable () -> [String]
    /// Where a cluster member at its capacity sends a new agent, given the agents registered here;
    /// `nil` to take it (a single server, below capacity, or no member with room).
    let redirectAgent: @Sendable (_ agentsHere: Int) -> ClusterRedirect?
    /// The server's figures: heartbeats, frames and protocol errors are counted there.
    public let serverMetrics: ServerMetrics
    private let connectionCount = Atomic<Int>(0)
    private let nextConnectionID = Atomic<UInt64>(1)
    private let liveSessions = Atomic<Int>(0)

    public init(
        settings: ServerSettings, serverID: String, tracker: LivenessTracker, authenticator: AgentAuthenticator, metrics: MetricsIngestor,
        messages: MessageService, files: FileService, serverMetrics: ServerMetrics = ServerMetrics(), logger: Logger, live: LiveSettings? = nil,
        clusterServers: @escaping @Sendable () -> [String] = { [] },
        redirectAgent: @escaping @Sendable (_ agentsHere: Int) -> ClusterRedirect? = { _ in nil }
    ) {
        self.clusterServers = clusterServers
        self.redirectAgent = redirectAgent
        self.settings = settings
        self.live = live ?? LiveSettings(settings)
        self.serverMetrics = serverMetrics
        self.serverID = serverID
        self.tracker = tracker
        self.authenticator = authenticator
        self.metrics = metrics
        self.messages = messages
        self.files = files
        self.logger = logger
    }

    /// Counts a new connection in. Returns its id, or `nil` when `agents.max_connections` is reached
    /// (the connection is then not counted).
    func admitConnection() -> UInt64? {
        let count = self.connectionCount.wrappingAdd(1, ordering: .relaxed).newValue
        guard count <= self.settings.maxConnections else {
            self.connectionCount.wrappingSubtract(1, ordering: .relaxed)
            return nil
        }
        return self.nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    func releaseConnection() {
        self.connectionCount.wrappingSubtract(1, ordering: .relaxed)
    }

    func sessionCreated() {
        self.liveSessions.wrappingAdd(1, ordering: .relaxed)
    }

    func sessionFreed() {
        self.liveSessions.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Session handlers in memory, open or not yet freed. Equal to ``openConnections`` once closed
    /// connections have finished their work; a figure that keeps growing is a leak.
    public var sessionsInMemory: Int { self.liveSessions.load(ordering: .relaxed) }

    /// Connections open now.
    public var openConnections: Int { self.connectionCount.load(ordering: .relaxed) }
}
