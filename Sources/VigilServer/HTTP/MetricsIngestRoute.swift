import Foundation
import HTTPTypes
import Hummingbird
import VigilMetrics
import VigilProtocol
import VigilStore

/// `POST /api/metrics`: a metrics document from a script or an agent that speaks HTTP.
///
/// Authenticated by `X-API-Key` with an agent key; the key decides the host, so a `hostname` in
/// the body is ignored when it differs. Refusals use the same rules as the agent's `METRICS` frames.
struct MetricsIngestRoute: Sendable {
    static let keyHeader = HTTPField.Name("X-API-Key")!

    let store: any VigilStore
    let ingestor: MetricsIngestor
    /// The settings in force: `metrics.max_body_size` is read per request.
    let live: LiveSettings
    var settings: ServerSettings { self.live.current }

    struct Accepted: Encodable {
        var status = "success"
        var hostname: String
    }

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.post("metrics") { request, context in try await self.handle(request, context) }
    }

    func handle(_ request: Request, _ context: VigilRequestContext) async throws -> Response {
        // The key first: an unauthenticated peer learns nothing about the body rules.
        let hostname = try await self.authenticate(request)
        let limit = self.settings.maxMetricsBodySize
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError(.contentTooLarge, "body_too_large", "body of \(declared) bytes is over the limit of \(limit) bytes (metrics.max_body_size)")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "body_too_large", "body is over the limit of \(limit) bytes (metrics.max_body_size)")
        }
        guard body.readableBytes > 0 else {
            throw APIError(.badRequest, "invalid_body", "the body is empty; expected a JSON metrics document")
        }
        let document: MetricsDocument
        do {
            document = try ProtocolViolation.decodeJSON(MetricsDocument.self, from: Data(body.readableBytesView))
        } catch {
            throw APIError(.badRequest, error.code.rawValue, error.detail)
        }
        // The 200 means durable: it waits for the sample's write transaction (group-committed
        // with whatever else arrived meanwhile) to be on disk.
        let stored: Result<Void, any Error> = try await withCheckedThrowingContinuation { continuation in
            do throws(IngestRefusal) {
                try self.ingestor.ingest(document, hostname: hostname) { continuation.resume(returning: $0) }
            } catch {
                continuation.resume(throwing: Self.apiError(for: error))
            }
        }
        if case .failure(let error) = stored {
            throw Self.apiError(forWriteFailure: error)
        }
        return try JSONResponse.make(Accepted(hostname: hostname))
    }

    private func authenticate(_ request: Request) async throws -> String {
        guard let token = request.headers[Self.keyHeader], !token.isEmpty else {
            throw APIError(.unauthorized, "key_required", "send the agent key in the X-API-Key header; create one with `vigil keys create --host NAME`")
        }
        switch try await self.store.verifyKey(token) {
        case .valid(let key):
            return key.hostname
        case .revoked(let key):
            throw APIError(.unauthorized, "revoked_key", "key \(key.id) (host \(key.hostname)) has been revoked")
        case .unknown:
            throw APIError(.unauthorized, "invalid_key", "key \(AgentKeyToken(token)?.id ?? "?") is not known to this server")
        case .malformed:
            throw APIError(.unauthorized, "invalid_key", "key is malformed: expected vk_<12 lowercase letters or digits>_<43 base64url characters>")
        }
    }

    /// The sample was taken but its write failed: nothing was acknowledged, and the sender may send
    /// the same sample again.
    static func apiError(forWriteFailure error: any Error) -> APIError {
        if StorageCondition.isStorageFull(error) {
            return APIError.storageFull("the server's disk is full; the sample was not stored. Send it again once space returns", retryAfter: .seconds(5))
        }
        return APIError(.serviceUnavailable, "storage_error", "the server could not store the sample (\(error)); send it again later",
                 headers: [.retryAfter: "1"])
    }

    static func apiError(for refusal: IngestRefusal) -> APIError {
        var headers: HTTPFields = [:]
        if let wait = refusal.retryAfter {
            headers[.retryAfter] = "\(max(1, Int(wait.seconds.rounded(.up))))"
        }
        switch refusal.kind {
        case .invalid: return APIError(.badRequest, refusal.code.rawValue, refusal.detail)
        case .rateLimited: return APIError(.tooManyRequests, refusal.code.rawValue, refusal.detail, headers: headers)
        case .stale: return APIError(.conflict, refusal.code.rawValue, refusal.detail)
        case .busy: return APIError(.serviceUnavailable, refusal.code.rawValue, refusal.detail, headers: headers)
        case .storageFull: return APIError.storageFull(refusal.detail, retryAfter: refusal.retryAfter ?? .seconds(5))
        }
    }
}
