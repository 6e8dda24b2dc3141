import Foundation
import Hummingbird
import VigilStore

/// The HTTP API of this issue: health, agents and liveness events. (Metrics, users and the
/// dashboard build on the same router later.)
struct APIRoutes: Sendable {
    let tracker: LivenessTracker
    let store: any VigilStore
    let environment: SessionEnvironment
    let startedAt: Date
    let version: String

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
            case status, version, agents, down, connections
            case serverID = "server_id"
            case uptimeSeconds = "uptime_seconds"
            case heartbeatInterval = "heartbeat_interval"
            case recentEvents = "recent_events"
        }
    }

    func register(on router: Router<BasicRequestContext>) {
        let api = router.group("api")
        api.get("health") { _, _ in try await self.health() }
        api.get("agents") { _, _ in try JSONResponse.make(self.tracker.snapshot()) }
        api.get("agents/:hostname") { _, context in
            let hostname = try context.parameters.require("hostname")
            guard let agent = self.tracker.snapshot().first(where: { $0.hostname == hostname }) else {
                throw APIError(.notFound, "not_found", "no agent named \(hostname)")
            }
            return try JSONResponse.make(agent)
        }
        api.get("events") { request, _ in
            let query = request.uri.queryParameters
            let limit = try Self.integer(query["limit"].map(String.init), name: "limit", default: 100, range: 1...10_000)
            let before = try query["before"].map { try Self.integer(String($0), name: "before", default: 0, range: 1...Int.max) }
            let events = try await self.store.events(hostname: query["hostname"].map(String.init), limit: limit, before: before.map(Int64.init))
            return try JSONResponse.make(events)
        }
    }

    private func health() async throws -> Response {
        let agents = self.tracker.snapshot()
        var byState: [String: Int] = [:]
        for agent in agents { byState[agent.state.rawValue, default: 0] += 1 }
        let health = Health(
            status: "ok", version: self.version, serverID: self.environment.serverID,
            uptimeSeconds: Date().timeIntervalSince(self.startedAt),
            heartbeatInterval: self.environment.settings.heartbeatInterval.seconds,
            connections: self.environment.openConnections,
            agents: .init(total: agents.count, connected: agents.filter(\.connected).count, byState: byState),
            down: agents.filter { $0.state == .down }.map(\.hostname),
            recentEvents: try await self.store.events(hostname: nil, limit: 20, before: nil)
        )
        return try JSONResponse.make(health)
    }

    private static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError(.badRequest, "invalid_parameter", "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return number
    }
}
