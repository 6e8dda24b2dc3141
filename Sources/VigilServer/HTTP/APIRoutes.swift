import Foundation
import Hummingbird
import VigilStore

/// Health, agents, liveness events and storage figures. (Metrics routes are in
/// ``ServerRoutes`` and ``MetricsIngestRoute``; users and the dashboard come later.)
struct APIRoutes: Sendable {
    let tracker: LivenessTracker
    let store: any VigilStore
    let environment: SessionEnvironment
    let history: any MetricsStore
    let startedAt: Date
    let version: String
    /// The live stream, for its counters.
    var live: LiveHub? = nil
    /// Whether the disk has room, for `storage` in `/api/health`.
    var storage: StorageCondition? = nil
    /// `store.backend`, and with PostgreSQL whether the cluster heartbeat reaches the database.
    var backend: String = "sqlite"
    var cluster: ClusterState? = nil
    /// With PostgreSQL, how long the health answer waits for the database before it leaves the
    /// events out (`store.postgres.connect_timeout`): a query may otherwise wait indefinitely.
    var databaseTimeout: Duration? = nil
    /// In a cluster, the hosts other members hold: `/api/agents` lists them with this server's own.
    var remote: RemoteHosts? = nil

    /// `GET /api/health` body.
    struct Health: Encodable {
        var status: String
        var version: String
        var serverID: String
        var uptimeSeconds: Double
        var heartbeatInterval: Double
        var connections: Int
        var agents: Counts
        var down: [String]
        var recentEvents: [LivenessEvent]
        var metrics: MetricsCounts
        var stream: StreamCounts
        /// The data directory's disk: `full` while writes that need space are refused.
        var storage: StorageCondition.Snapshot
        var database: Database

        /// The store: with PostgreSQL, whether this server reaches it.
        struct Database: Encodable {
            var backend: String
            var state: String
            var detail: String?
            var lastContact: Date?

            enum CodingKeys: String, CodingKey {
                case backend, state, detail
                case lastContact = "last_contact"
            }
        }

        /// Live stream (`GET /api/stream`) connections and drops since start.
        struct StreamCounts: Encodable {
            var clients: Int
            var droppedSlow: Int
            var skippedItems: Int

            enum CodingKeys: String, CodingKey {
                case clients
                case droppedSlow = "dropped_slow"
                case skippedItems = "skipped_items"
            }
        }

        /// Samples taken and refused since start, and how many wait to be written.
        struct MetricsCounts: Encodable {
            var accepted: Int
            /// Of `accepted`, samples older than their host's latest (an agent replaying its spool).
            var backfilled: Int
            var pending: Int
            var refused: [String: Int]
        }

        struct Counts: Encodable {
            var total: Int
            var connected: Int
            var byState: [String: Int]

            enum CodingKeys: String, CodingKey {
                case total, connected
                case byState = "by_state"
            }
        }

        enum CodingKeys: String, CodingKey {
            case status, version, agents, down, connections, metrics, stream, storage, database
            case serverID = "server_id"
            case uptimeSeconds = "uptime_seconds"
            case heartbeatInterval = "heartbeat_interval"
            case recentEvents = "recent_events"
        }
    }

    func register(on router: Router<VigilRequestContext>) {
        let api = router.group("api")
        api.get("health") { _, _ in try await self.health() }
        api.get("agents") { _, _ in
            let local = self.tracker.snapshot()
            return try JSONResponse.make(self.remote?.merged(local) ?? local)
        }
        api.get("agents/:hostname") { _, context in
            let hostname = try context.parameters.require("hostname")
            let local = self.tracker.status(of: hostname)
            guard let agent = self.remote.map({ $0.status(of: hostname, local: local) }) ?? local else {
                throw APIError(.notFound, "not_found", "no agent named \(hostname)")
            }
            return try JSONResponse.make(agent)
        }
        api.get("storage") { _, _ in try JSONResponse.make(try await self.history.statistics()) }
        api.get("events") { request, _ in
            let query = request.uri.queryParameters
            return try await Self.events(query, hostname: query["hostname"].map(String.init), store: self.store)
        }
    }

    /// Answers also while the database is down (that is when it matters most): the events are
    /// then left out rather than waited for, and `status` says `degraded`.
    private func health() async throws -> Response {
        let agents = self.tracker.snapshot()
        var byState: [String: Int] = [:]
        for agent in agents { byState[agent.state.rawValue, default: 0] += 1 }
        let cluster = self.cluster?.snapshot
        var database = Health.Database(backend: self.backend, state: "ok", detail: cluster?.problem, lastContact: cluster?.lastContact)
        var events: [LivenessEvent] = []
        if database.detail == nil {
            do {
                let store = self.store
                let recent: @Sendable () async throws -> [LivenessEvent] = { try await store.events(hostname: nil, limit: 20, before: nil) }
                if let timeout = self.databaseTimeout {
                    events = try await AbandonableCall.run(timeout: timeout, recent)
                } else {
                    events = try await recent()
                }
            } catch {
                database.detail = "\(error)"
            }
        }
        if database.detail != nil { database.state = "unreachable" }
        let health = Health(
            status: database.state == "ok" ? "ok" : "degraded", version: self.version, serverID: self.environment.serverID,
            uptimeSeconds: Date().timeIntervalSince(self.startedAt),
            heartbeatInterval: self.environment.live.current.heartbeatInterval.seconds,
            connections: self.environment.openConnections,
            agents: .init(total: agents.count, connected: agents.filter(\.connected).count, byState: byState),
            down: agents.filter { $0.state == .down }.map(\.hostname),
            recentEvents: events,
            metrics: Self.metricsCounts(self.environment.metrics),
            stream: Self.streamCounts(self.live),
            storage: self.storage?.snapshot ?? StorageCondition.Snapshot(state: "ok", refusedWrites: 0),
            database: database
        )
        return try JSONResponse.make(health)
    }

    private static func streamCounts(_ live: LiveHub?) -> Health.StreamCounts {
        let statistics = live?.statistics ?? LiveHub.Statistics()
        return Health.StreamCounts(clients: statistics.clients, droppedSlow: statistics.droppedSlow, skippedItems: statistics.skippedItems)
    }

    private static func metricsCounts(_ ingestor: MetricsIngestor) -> Health.MetricsCounts {
        let counters = ingestor.counters
        var refused: [String: Int] = [:]
        for kind in IngestRefusal.Kind.allCases { refused[kind.code] = counters.refused[kind] ?? 0 }
        return Health.MetricsCounts(accepted: counters.accepted, backfilled: ingestor.backfilledCount, pending: ingestor.pendingCount, refused: refused)
    }

    /// Liveness events, newest first, paged by `limit` and `before` (also `/api/servers/{hostname}/events`).
    static func events(_ query: Hummingbird.Parameters, hostname: String?, store: any VigilStore) async throws -> Response {
        let limit = try Self.integer(query["limit"].map(String.init), name: "limit", default: 100, range: 1...10_000)
        let before = try query["before"].map { try Self.integer(String($0), name: "before", default: 0, range: 1...Int.max) }
        return try JSONResponse.make(try await store.events(hostname: hostname, limit: limit, before: before.map(Int64.init)))
    }

    static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError(.badRequest, "invalid_parameter", "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return number
    }
}
