import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import VigilAPI
import VigilPostgres
import VigilStore

/// A whole Vigil server: agent listener, failure detection, recorder and HTTP API, run as one
/// service group with graceful shutdown.
///
/// Start order is recorder → monitor → metrics writer → messages → files → live stream hub → listener → HTTP; shutdown
/// runs in reverse, so connections are closed before the detector stops, the message writer stores
/// every accepted message and the last cursors, open transfers keep resumable partials, the metrics
/// writer writes every accepted sample, and the recorder writes the last event before the store closes.
public struct VigilServer: Sendable {
    /// The addresses actually bound (ports are real even when 0 was configured).
    public struct BoundPorts: Sendable, Equatable {
        public var agentPort: Int
        public var httpPort: Int
    }

    public static let version = "0.1.0"

    public let settings: ServerSettings
    public let store: any VigilStore
    /// Metrics history.
    public let history: any MetricsStore
    /// Takes samples from agents and `POST /api/metrics`.
    public let metrics: MetricsIngestor
    public let tracker: LivenessTracker
    /// Stores and routes messages.
    public let messages: MessageService
    /// Receives and keeps files.
    public let files: FileService
    /// What agent connections share, including the count of open connections.
    public let sessions: SessionEnvironment
    /// Users, sign-in and sessions; checks the access tokens of the API and the live stream.
    public let users: UserService
    /// The live stream's fan-out (`GET /api/stream`).
    public let live: LiveHub
    /// Whether the data directory's disk has room (`/api/health` shows it; writes that need
    /// space are refused with `storage_full` while it has not).
    public let storage: StorageCondition
    /// Alert rules, alerts, silences and notifications.
    public let alerts: AlertService
    /// Certificates and contexts of both ports; nil when `tls.enabled` is false.
    public let tls: TLSContexts?
    /// Reloads the configuration (SIGHUP, `POST /api/admin/reload`); parts that take new settings
    /// join it with ``ConfigurationReloader/register(_:)``.
    public let reloader: ConfigurationReloader
    /// The settings in force now (``settings`` is what the server started with).
    public var liveSettings: LiveSettings { self.reloader.live }
    /// Open HTTP connections, against `http.max_connections`.
    let httpConnections: HTTPConnectionLimiter
    /// The server's own figures (`GET /metrics`): its own registry, not a process-wide one.
    public let serverMetrics: ServerMetrics
    /// The services in start order, for callers that run them in a larger group (`vigil up`).
    public let services: [any Service]
    /// Whether this server leads its cluster (always, for a single server): once-per-cluster work checks it.
    public let leader: LeaderGate
    private let logger: Logger

    /// Opens the store, restores liveness and binds the agent listener.
    ///
    /// - Parameters:
    ///   - settings: The configuration.
    ///   - store: The store; by default as `settings.storage` says (the SQLite store in
    ///     `settings.dataDirectory`, or one in memory).
    ///   - history: The metrics history; by default as `settings.storage` says.
    ///   - logger: The root logger.
    ///   - configuration: How `settings` were loaded, so a reload can read them again the same
    ///     way; without it every reload fails.
    ///   - logLevel: The level the process's log handlers follow (``LiveLevelLogHandler``), which a
    ///     reload of `log.level` changes.
    ///   - onReady: Called once both listeners are bound, with their ports.
    public init(
        settings: ServerSettings,
        store: (any VigilStore)? = nil,
        history: (any MetricsStore)? = nil,
        channels: (any NotificationChannelFactory)? = nil,
        logger: Logger,
        configuration: LoadedConfiguration? = nil,
        logLevel: LiveLogLevel? = nil,
        onReady: @escaping @Sendable (BoundPorts) async -> Void = { _ in }
    ) async throws {
        self.settings = settings
        let liveSettings = LiveSettings(settings)
        self.logger = logger
        let httpConnections = HTTPConnectionLimiter(limit: settings.http.maxConnections, logger: logger)
        self.httpConnections = httpConnections
        let serverMetrics = ServerMetrics()
        self.serverMetrics = serverMetrics
        OpenFilesLimit.raiseToHardLimit(settings: settings, logger: logger)
        let directory = URL(fileURLWithPath: settings.dataDirectory)
        if settings.storage.usesDataDirectory, store == nil || history == nil {
            // It holds the token-signing secret: refuse a directory or file others can read.
            try DataDirectory.prepare(directory)
        }
        let storage = StorageCondition(directory: settings.storage.usesDataDirectory ? settings.dataDirectory : nil, settings: settings, logger: logger)
        self.storage = storage
        var postgres: PostgresStore?
        if store == nil, settings.storage == .postgres {
            guard let connection = settings.postgres else { throw ConfigurationError(description: "store.postgres.url: required with store.backend postgres") }
            postgres = try await PostgresStore.connect(connection, logger: logger)
            logger.info("store on PostgreSQL", metadata: ["database": "\(connection.redactedURL)"])
        }
        let store: any VigilStore = try store ?? postgres ?? {
            switch settings.storage {
            case .sqlite, .postgres: try SQLiteStore(directory: directory)
            case .memory: try SQLiteStore(inMemory: ())
            }
        }()
        self.store = store
        // Opened by the cluster's election on PostgreSQL; a single server always leads.
        let gate = LeaderGate(leading: postgres == nil)
        self.leader = gate
        let history: any MetricsStore = try history ?? postgres.map {
            // On the store's pool: one set of connections per server.
            PostgresMetricsStore(store: $0, options: PostgresMetricsOptions(retention: settings.retention))
        } ?? {
            switch settings.storage {
            case .sqlite, .postgres: try SQLiteMetricsStore(directory: directory, retention: settings.retention)
            case .memory: MemoryMetricsStore(capacity: settings.memorySamplesPerHost)
            }
        }()
        self.history = history
        // A cluster when servers share PostgreSQL; otherwise a cluster of one that always leads.
        let memberID = settings.cluster.memberID ?? settings.serverID ?? UUID().uuidString.lowercased()
        let clusterState = ClusterState(memberID: memberID, clustered: postgres != nil)
        // In a cluster: the hosts other members hold, shown here and never judged here, and what
        // this server publishes for them (``LiveRelay``).
        let remote = postgres.map { _ in
            RemoteHosts(memberID: memberID, liveMembers: {
                let members = clusterState.snapshot.members
                return members.isEmpty ? nil : Set(members.map(\.id))
            })
        }
        let outbox = postgres.map { _ in LiveRelayOutbox(maxPending: settings.cluster.relay.maxPending) }
        let (updates, continuation) = AsyncStream<LivenessUpdate>.makeStream()
        let tracker = LivenessTracker(policy: LivenessPolicy(settings: settings), updates: continuation, metrics: serverMetrics,
                                      heldElsewhere: { remote?.isHeldElsewhere($0) ?? false })
        self.tracker = tracker
        let latest = LatestMetrics()
        let live = LiveHub(settings: settings.stream, tracker: tracker, latest: latest, logger: logger, remote: remote, outbox: outbox)
        self.live = live
        var relay: LiveRelay?
        if let postgres, let remote, let outbox {
            relay = LiveRelay(store: postgres, settings: settings.cluster.relay, memberID: memberID, outbox: outbox, remote: remote,
                              latest: latest, hub: live, tracker: tracker, memberTimeout: settings.cluster.memberTimeout, logger: logger)
        }
        let liveRelay = relay
        // Before the ingestor: it evaluates the rules on each sample. A bad alerting file stops the start here.
        let alerts = try await AlertService(store: store, settings: settings.alerting, live: live, factory: channels ?? NotifyChannelFactory(logger: logger), metrics: serverMetrics, leader: gate, clustered: postgres != nil, logger: logger)
        self.alerts = alerts
        let metrics = MetricsIngestor(settings: settings, latest: latest, live: live, alerts: alerts.evaluation, storage: storage, serverMetrics: serverMetrics, logger: logger, liveSettings: liveSettings)
        self.metrics = metrics
        let metricsService = MetricsService(ingestor: metrics, store: history, settings: settings, logger: logger, leader: gate)
        try await metricsService.restore()
        let storedID = try await store.serverID()
        let serverID = settings.serverID ?? storedID

        var known = try await store.agents()
        if let postgres {
            // In a cluster, the hosts another member holds are its to track: this server restores
            // only those it held itself (a restart with a stable cluster.member_id); hosts whose
            // server died are the leader's to declare DOWN if they do not reconnect.
            let memberID = settings.cluster.memberID ?? settings.serverID
            var owned: Set<String> = []
            if let memberID { owned = try await postgres.agentsOwned(by: memberID) }
            known = known.filter { owned.contains($0.hostname) || !$0.state.expectsHeartbeats }
        }
        tracker.restore(known, now: .now())
        logger.info("restored agents", metadata: [
            "count": "\(known.count)",
            "awaiting_reconnect": "\(known.filter { $0.state.expectsHeartbeats }.count)",
            "grace": "\(settings.restartGrace.compactDescription)",
        ])

        let messages = MessageService(store: store, settings: settings, logger: logger, live: live, storage: storage, leader: gate)
        self.messages = messages
        let files = FileService(store: store, settings: settings, logger: logger)
        self.files = files
        if postgres != nil, settings.filesDirectorySetting == nil {
            // The catalog is shared, the bytes are not: say so once, at start (OPERATIONS.md §15.4).
            logger.warning("files.directory is this server's own (under its data directory): files it receives download only from it; point every member's files.directory at one shared directory", metadata: [
                "files_directory": "\(settings.filesDirectory)",
            ])
        }
        let loadSharing = postgres == nil ? nil : LoadSharing(settings: settings.cluster, memberID: memberID, state: clusterState, tracker: tracker, logger: logger)
        // Where a stored liveness transition goes, whoever stored it (this server's recorder, or
        // the leader declaring a dead server's hosts DOWN): notices, the live stream, alerting.
        let publishTransition: @Sendable (LivenessEvent) -> Void = { event in
            messages.notify(of: event)
            live.publishTransition(event)
            alerts.evaluation.observe(event)
        }
        let environment = SessionEnvironment(
            settings: settings, serverID: serverID, tracker: tracker,
            authenticator: AgentAuthenticator(store: store, openEnrollment: settings.openEnrollment, legacyClients: settings.legacyClients),
            metrics: metrics, messages: messages, files: files, serverMetrics: serverMetrics, logger: logger, live: liveSettings,
            clusterServers: { clusterState.snapshot.members.map(\.agentAddress) },
            redirectAgent: { loadSharing?.redirect(agentsHere: $0) }
        )
        self.sessions = environment
        // Users before the listener binds: creating the first admin may fail (a bad database), and
        // a failed start must not leave a bound port behind.
        let users = try await UserService(store: store, settings: settings.auth, logger: logger, storage: storage)
        self.users = users
        // Before anything binds: a server asked for TLS must not start without it.
        let tls = settings.tls.enabled
            ? try TLSContexts(settings: settings.tls, names: settings.tlsNames, dataDirectory: settings.storage.usesDataDirectory ? settings.dataDirectory : nil, logger: logger)
            : nil
        self.tls = tls
        let reloader = ConfigurationReloader(
            configuration: configuration, live: liveSettings,
            statusFile: settings.storage.usesDataDirectory ? ReloadStatusFile.path(in: settings.dataDirectory) : nil, logger: logger
        )
        self.reloader = reloader
        // In this order: a participant that can refuse (TLS files) checks before the others apply.
        if let tls { await reloader.register(TLSReloadParticipant(contexts: tls)) }
        await reloader.register(ClosureReloadParticipant(name: "log") { new in logLevel?.level = new.logLevel })
        await reloader.register(ClosureReloadParticipant(name: "messages") { new in
            messages.rateLimiter.update(rate: new.messageRateLimit, burst: new.messageRateBurst)
        })
        await reloader.register(alerts)
        await reloader.register(SessionReloadParticipant(sessions: environment.registeredSessions, tracker: tracker, settings: settings, logger: logger))
        if let tls {
            logger.info("TLS on both ports", metadata: [
                "ca": "\(tls.material.caFingerprint)", "min_version": "\(settings.tls.minimumVersion.rawValue)",
                "agents_plaintext": "\(settings.agentPlaintext)", "http_plaintext": "\(settings.httpPlaintext)",
            ])
        } else {
            logger.warning("TLS is off (tls.enabled false): agent keys, passwords and tokens cross the network in clear")
        }
        let group = MultiThreadedEventLoopGroup.singleton
        let listener = try await AgentListener(environment: environment, group: group, tls: tls)
        let agentPort = listener.localAddress?.port ?? settings.agentPort

        let advertisedHost = Self.advertisedHost(settings.agentHost)
        let agentAddress = settings.cluster.advertiseAgentAddress ?? "\(advertisedHost):\(agentPort)"
        let cluster = postgres.map {
            ClusterService(store: $0, settings: settings.cluster, memberID: memberID, agentAddress: agentAddress,
                           httpAddress: settings.cluster.advertiseHTTPAddress ?? "\(Self.advertisedHost(settings.httpHost)):\(settings.httpPort)",
                           sessions: environment.registeredSessions, tracker: tracker, restartGrace: settings.restartGrace,
                           state: clusterState, gate: gate, loadSharing: loadSharing, logger: logger, publish: { event in
                               publishTransition(event)
                               liveRelay?.relay(event, holder: false)
                           })
        }
        // Every member listens for envelope-only clients' SERVER_DISCOVERY; the leader answers (PROTOCOL.md §14).
        let discovery = settings.cluster.discovery.enabled && cluster != nil ? DiscoveryService(
            settings: settings.cluster.discovery,
            view: { DiscoveryResponder.View(memberID: memberID, isLeader: gate.isLeader, members: clusterState.snapshot.members) },
            group: group, logger: logger) : nil

        // HEAD on every GET route: the GET answer without its body (RFC 9110 §9.3.2).
        let router = Router(context: VigilRequestContext.self, options: .autoGenerateHeadEndpoints)
        // Outermost, so its time covers everything below (access checks, errors, the body's writing).
        router.add(middleware: HTTPMetricsMiddleware(metrics: serverMetrics))
        if tls != nil, settings.hstsMaxAge > .zero {
            router.add(middleware: HSTSMiddleware(maxAge: settings.hstsMaxAge))
        }
        router.add(middleware: HeadResponseMiddleware())
        router.add(middleware: APIErrorMiddleware(storage: storage))
        // Before every route (middleware applies to the routes added after it): who is asking, and may they.
        router.add(middleware: SessionTokenAuthenticator(verifier: users))
        router.add(middleware: RouteAccessMiddleware(scrapeToken: settings.metricsScrapeToken))
        AuthRoutes(users: users).register(on: router.group("api"))
        UserRoutes(users: users, sessions: environment.registeredSessions).register(on: router.group("api"))
        // The CA as it is now (an operator's files may be replaced and reloaded on SIGHUP).
        let enrollmentToken: @Sendable (String, String) throws -> String? = { key, host in
            try tls.map { try EnrollmentTokenIssuer.token(key: key, host: host, caFingerprint: $0.material.caFingerprint, settings: settings, boundPort: agentPort).encoded() }
        }
        KeyRoutes(store: store, sessions: environment.registeredSessions, logger: logger, enrollmentToken: enrollmentToken).register(on: router.group("api"))
        let startedAt = Date()
        APIRoutes(tracker: tracker, store: store, environment: environment, history: history, startedAt: startedAt, version: Self.version, live: live, storage: storage,
                  backend: settings.storage.rawValue, cluster: clusterState, databaseTimeout: settings.postgres?.connectTimeout, remote: remote).register(on: router)
        let singleMember: @Sendable () -> ClusterStatus.Member = {
            ClusterStatus.Member(id: memberID, agentAddress: agentAddress, httpAddress: "\(Self.advertisedHost(settings.httpHost)):\(settings.httpPort)",
                                 load: environment.registeredSessions.agentCount, capacity: settings.cluster.capacity,
                                 startedAt: startedAt, lastSeen: Date(), leader: true)
        }
        ClusterRoutes(state: clusterState, gate: gate, backend: settings.storage, single: singleMember).register(on: router.group("api"))
        MetricsIngestRoute(store: store, ingestor: metrics, live: liveSettings).register(on: router.group("api"))
        ServerRoutes(tracker: tracker, ingestor: metrics, history: history, store: store, live: liveSettings, remote: remote).register(on: router.group("api"))
        MessageRoutes(messages: messages, settings: settings).register(on: router.group("api"))
        FileRoutes(files: files).register(on: router.group("api"))
        AlertRoutes(alerts: alerts).register(on: router.group("api"))
        SilenceRoutes(alerts: alerts).register(on: router.group("api"))
        RuleRoutes(alerts: alerts).register(on: router.group("api"))
        NotificationRoutes(alerts: alerts).register(on: router.group("api"))
        AdminRoutes(reloader: reloader).register(on: router.group("api"))
        StreamRoutes(hub: live, verifier: users, settings: settings.stream, logger: logger).register(on: router.group("api"))
        let figures: @Sendable () -> ServerFigures = {
            ServerFigures(
                agentConnections: environment.openConnections, registeredSessions: environment.registeredSessions.countsByKind,
                httpConnections: httpConnections.current, streamClients: live.statistics.clients, ingestQueueDepth: metrics.pendingCount
            )
        }
        MetricsRoutes(metrics: serverMetrics, tracker: tracker, latest: latest, remote: remote, figures: figures).register(on: router)
        DashboardRoutes(directory: settings.dashboardDirectory).register(on: router)
        let http = Application(
            router: router,
            // The same router answers WebSocket upgrades (`GET /api/stream`), so its middleware
            // (errors, access rules) applies to them too. The `http.*` limits guard every connection.
            server: .guardedHTTP1WebSocketUpgrade(router: router, settings: settings, limiter: httpConnections, tls: tls, logger: logger),
            configuration: .init(address: .hostname(settings.httpHost, port: settings.httpPort), serverName: "vigil/\(Self.version)"),
            onServerRunning: { channel in
                let httpPort = channel.localAddress?.port ?? settings.httpPort
                if settings.cluster.advertiseHTTPAddress == nil {
                    cluster?.advertise(httpAddress: "\(Self.advertisedHost(settings.httpHost)):\(httpPort)")
                }
                logger.info("HTTP API listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
                await onReady(BoundPorts(agentPort: agentPort, httpPort: httpPort))
            },
            eventLoopGroupProvider: .shared(group),
            logger: logger
        )
        // First, so it stops last: the database outlives every service that writes to it.
        let closing: [any Service] = (postgres.map { [PostgresStoreService(store: $0)] } ?? []) + (cluster.map { [$0] } ?? []) + (discovery.map { [$0] } ?? [])
        var recorder = LivenessRecorder(updates: updates, store: store, logger: logger, storage: storage) { event in
            publishTransition(event)
            liveRelay?.relay(event, holder: true)
        }
        if let liveRelay { recorder.onRegistration = { hostname, _ in liveRelay.relayRegistration(of: hostname) } }
        self.services = closing + (settings.storage.usesDataDirectory ? [storage] : []) + [
            RecorderService(recorder: recorder, updates: continuation),
            alerts,
            LivenessMonitor(tracker: tracker, store: store, checkInterval: settings.checkInterval, persistInterval: settings.persistInterval, storage: storage, logger: logger),
            metricsService,
            messages,
            files,
            live,
        ] + (liveRelay.map { [$0] } ?? []) + [
            users,
            RevocationWatcher(store: store, sessions: environment.registeredSessions, interval: settings.revocationCheckInterval, logger: logger),
            ReloadService(reloader: reloader, logger: logger),
            listener,
            http,
        ]
    }

    /// Runs until SIGTERM or SIGINT (or until the calling task is cancelled), then shuts down gracefully.
    public func run() async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: self.services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: self.logger
            )
        )
        try await group.run()
    }

    /// The host other servers and agents reach a listener at: its own address, or this machine's
    /// name when it listens on every address.
    static func advertisedHost(_ host: String) -> String {
        if host == "0.0.0.0" || host == "::" || host.isEmpty { return ProcessInfo.processInfo.hostName }
        return host.contains(":") ? "[\(host)]" : host
    }
}

/// Runs the recorder and, at shutdown (when every producer has stopped), ends its input so it
/// drains what is queued and returns.
private struct RecorderService: Service {
    let recorder: LivenessRecorder
    let updates: AsyncStream<LivenessUpdate>.Continuation

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await self.recorder.run()
        } onGracefulShutdown: {
            self.updates.finish()
        }
    }


}
