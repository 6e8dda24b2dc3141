import Foundation
import Hummingbird
import VigilAlerting
import VigilStore

/// `/api/alerts*`: firing and pending alerts, their history, acknowledgements, and what evaluation costs.
struct AlertRoutes: Sendable {
    let alerts: AlertService

    static let maxLimit = 1000
    static let defaultLimit = 100
    static let maxCommentBytes = 4096

    struct AckBody: Decodable {
        var comment: String?
    }

    struct ActiveList: Encodable {
        var alerts: [AlertService.AlertView]
    }

    struct HistoryPage: Encodable {
        var alerts: [AlertService.AlertView]
        /// Pass as `before` for the next (older) page; absent on the last.
        var nextBefore: Int64?

        enum CodingKeys: String, CodingKey {
            case alerts
            case nextBefore = "next_before"
        }
    }

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.get("alerts") { _, _ in try JSONResponse.make(ActiveList(alerts: await self.alerts.activeAlerts())) }
        api.get("alerts/history") { request, _ in
            let query = request.uri.queryParameters
            let limit = try APIRoutes.integer(query["limit"].map(String.init), name: "limit", default: Self.defaultLimit, range: 1...Self.maxLimit)
            let before = try query["before"].map { Int64(try APIRoutes.integer(String($0), name: "before", default: 0, range: 1...Int.max)) }
            let rows = try await self.alerts.store.alertHistory(hostname: query["host"].map(String.init), rule: query["rule"].map(String.init), limit: limit, before: before)
            var views: [AlertService.AlertView] = []
            for row in rows { views.append(await self.alerts.view(row)) }
            return try JSONResponse.make(HistoryPage(alerts: views, nextBefore: rows.count == limit ? rows.last?.id : nil))
        }
        api.get("alerts/evaluation") { _, _ in try JSONResponse.make(self.alerts.evaluation.cost) }
        api.get("alerts/:id") { _, context in
            let id = try Self.id(context)
            guard let alert = try await self.alerts.store.alert(id: id) else { throw APIError(.notFound, "not_found", "no alert has id \(id)") }
            return try JSONResponse.make(await self.alerts.view(alert))
        }
        api.post("alerts/:id/ack") { request, context in
            let user = try AuthRoutes.signedIn(context)
            let id = try Self.id(context)
            let body = try await AuthRoutes.decode(AckBody.self, request, expected: #"{"comment": "TEXT"}"#)
            let comment = body.comment ?? ""
            guard comment.utf8.count <= Self.maxCommentBytes else {
                throw APIError(.badRequest, "invalid_field", "comment is longer than \(Self.maxCommentBytes) bytes")
            }
            return try await Self.answer { try JSONResponse.make(try await self.alerts.acknowledge(id: id, by: user.name, comment: comment)) }
        }
    }

    static func id(_ context: VigilRequestContext) throws -> Int64 {
        let text = try context.parameters.require("id")
        guard let id = Int64(text), id > 0 else { throw APIError(.badRequest, "invalid_parameter", "id must be a positive integer, got \"\(text.prefix(64))\"") }
        return id
    }

    /// Runs a service operation, turning its errors into the API's answers.
    static func answer(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as AlertService.OperationError {
            switch error {
            case .notFound(let detail): throw APIError(.notFound, "not_found", detail)
            case .invalid(let detail): throw APIError(.unprocessableContent, "invalid_field", detail)
            case .readOnly(let detail): throw APIError(.conflict, "read_only", detail)
            }
        }
    }
}
