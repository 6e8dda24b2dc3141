import Foundation
import Hummingbird
import VigilAlerting
import VigilAPI

/// `/api/silences*`: silences to read (viewers), create and end (operators).
struct SilenceRoutes: Sendable {
    let alerts: AlertService

    struct CreateBody: Decodable {
        var matchers: [LabelMatcher]
        var startsAt: Date?
        var endsAt: Date?
        /// Instead of `ends_at`: how long from the start (`"2h"`).
        var duration: AlertDuration?
        var comment: String?

        enum CodingKeys: String, CodingKey {
            case matchers, duration, comment
            case startsAt = "starts_at"
            case endsAt = "ends_at"
        }
    }

    struct SilenceList: Encodable {
        var silences: [SilenceView]
    }

    struct SilenceView: Encodable {
        var silence: Silence
        var active: Bool

        func encode(to encoder: any Encoder) throws {
            try self.silence.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.active, forKey: .active)
        }

        enum CodingKeys: String, CodingKey { case active }
    }

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.get("silences") { _, _ in
            let now = Date()
            return try JSONResponse.make(SilenceList(silences: await self.alerts.listSilences().map { SilenceView(silence: $0, active: $0.isActive(at: now)) }))
        }
        api.post("silences") { request, context in
            let user = try AuthRoutes.signedIn(context)
            let expected = #"{"matchers": ["host=web-1", "alertname=~cpu.*"], "ends_at": "2026-12-08T10:00:00Z" or "duration": "2h", "comment": "TEXT"}"#
            let body: CreateBody = try await Self.decode(request, expected: expected)
            let now = Date()
            let start = body.startsAt ?? now
            guard let end = body.endsAt ?? body.duration.map({ start.addingTimeInterval($0.seconds) }) else {
                throw APIError(.badRequest, "invalid_field", "ends_at or duration is required")
            }
            let silence = Silence(id: UUID().uuidString.lowercased(), matchers: body.matchers, startsAt: start, endsAt: end,
                                  createdBy: user.name, comment: body.comment ?? "", createdAt: now)
            return try await AlertRoutes.answer {
                let saved = try await self.alerts.createSilence(silence)
                return try JSONResponse.make(SilenceView(silence: saved, active: saved.isActive(at: Date())), status: .created)
            }
        }
        api.get("silences/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let silence = await self.alerts.listSilences().first(where: { $0.id == id }) else {
                throw APIError(.notFound, "not_found", "no silence has id \(id.prefix(64))")
            }
            return try JSONResponse.make(SilenceView(silence: silence, active: silence.isActive(at: Date())))
        }
        api.delete("silences/:id") { _, context in
            let user = try AuthRoutes.signedIn(context)
            let id = try context.parameters.require("id")
            return try await AlertRoutes.answer {
                let ended = try await self.alerts.expireSilence(id: id, by: user.name)
                return try JSONResponse.make(SilenceView(silence: ended, active: false))
            }
        }
    }

    /// Decodes with the API's date convention (ISO 8601), matcher and duration errors named.
    static func decode<T: Decodable>(_ request: Request, expected: String) async throws -> T {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: AuthRoutes.maxBodySize)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "body_too_large", "body is over the limit of \(AuthRoutes.maxBodySize) bytes")
        }
        do {
            return try APICoding.decoder().decode(T.self, from: Data(body.readableBytesView))
        } catch let error as DecodingError {
            throw APIError(.badRequest, "invalid_json", "\(error.pathDescription); expected \(expected)")
        } catch let error as RuleValidationError {
            throw APIError(.badRequest, "invalid_field", "\(error); expected \(expected)")
        } catch {
            throw APIError(.badRequest, "invalid_json", "\(error); expected \(expected)")
        }
    }
}
