import Foundation
import VigilMetrics

/// The parts of the server's HTTP API the benchmarks read, decoded leniently: only the fields
/// used here are required.
struct VigilAPI: Sendable {
    let client: HTTPClient

    /// `GET /api/health` → `metrics`.
    struct Health: Decodable, Sendable {
        var metrics: Metrics
        var connections: Int?

        struct Metrics: Decodable, Sendable {
            /// Samples taken since start.
            var accepted: Int
            /// Samples taken and not yet handed to the store.
            var pending: Int
            /// Samples refused since start, by reason.
            var refused: [String: Int]

            var refusedTotal: Int { self.refused.values.reduce(0, +) }
        }
    }

    /// `GET /api/storage` (`MetricsStorageStatistics`). The file size key is accepted in both the
    /// snake case the rest of the API uses and the camel case the struct's default coding gives.
    struct Storage: Decodable, Sendable {
        var raw: Level
        var minute: Level
        var hour: Level
        var fileBytes: Int64

        struct Level: Decodable, Sendable {
            var values: Int64
            var bytes: Int64
            var blocks: Int64
        }

        enum CodingKeys: String, CodingKey {
            case raw, minute, hour
            case fileBytesSnake = "file_bytes"
            case fileBytesCamel = "fileBytes"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.raw = try c.decode(Level.self, forKey: .raw)
            self.minute = try c.decode(Level.self, forKey: .minute)
            self.hour = try c.decode(Level.self, forKey: .hour)
            self.fileBytes = try c.decodeIfPresent(Int64.self, forKey: .fileBytesSnake)
                ?? c.decode(Int64.self, forKey: .fileBytesCamel)
        }
    }

    /// `GET /api/servers/{host}/history` (only the count of points is checked).
    struct History: Decodable, Sendable {
        var resolution: String
        var points: [Point]

        struct Point: Decodable, Sendable {
            var t: Double
        }
    }

    /// What rule evaluation has cost since the server started (`GET /api/alerts/evaluation`).
    struct Evaluation: Decodable, Sendable {
        var samples: Int
        var conditions: Int
        var rules: Int
        var seconds: Double
    }

    func evaluation() async throws -> Evaluation {
        try await self.client.getJSON(Evaluation.self, "/api/alerts/evaluation")
    }

    func health() async throws -> Health {
        try await self.client.getJSON(Health.self, "/api/health")
    }

    func storage() async throws -> Storage {
        try await self.client.getJSON(Storage.self, "/api/storage", timeout: .seconds(300))
    }

    /// A liveness event from `GET /api/events`.
    struct Event: Decodable, Sendable {
        var id: Int64
        var hostname: String
        var to: String
        var reason: String
        var at: Date

        enum CodingKeys: String, CodingKey { case id, hostname, to, reason, at }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.id = try c.decode(Int64.self, forKey: .id)
            self.hostname = try c.decode(String.self, forKey: .hostname)
            self.to = try c.decode(String.self, forKey: .to)
            self.reason = try c.decode(String.self, forKey: .reason)
            let text = try c.decode(String.self, forKey: .at)
            guard let at = Date(vigilISO8601: text) else {
                throw DecodingError.dataCorruptedError(forKey: .at, in: c, debugDescription: "not an ISO 8601 time: \(text)")
            }
            self.at = at
        }
    }

    /// The id of the newest stored liveness event (0 when there is none).
    func newestEventID() async throws -> Int64 {
        try await self.client.getJSON([Event].self, "/api/events?limit=1").first?.id ?? 0
    }

    /// The first DOWN event of each host among the events with an id above `after`, read page by
    /// page (newest first).
    func downEvents(after: Int64) async throws -> [String: Event] {
        let pageSize = 10_000  // the API's largest `limit`
        var down: [String: Event] = [:]
        var before: Int64?
        while true {
            let page = try await self.client.getJSON([Event].self, "/api/events?limit=\(pageSize)" + (before.map { "&before=\($0)" } ?? ""))
            for event in page where event.id > after && event.to == "DOWN" {
                if let seen = down[event.hostname], seen.id < event.id { continue }
                down[event.hostname] = event
            }
            guard let last = page.last, last.id > after, page.count == pageSize else { return down }
            before = last.id
        }
    }
}
