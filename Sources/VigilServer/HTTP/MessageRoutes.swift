import Foundation
import Hummingbird
import VigilProtocol
import VigilStore

/// `POST /api/messages` (the server sends a message) and `GET /api/messages` (a conversation).
///
/// Posted messages are sent as `server` (the server's reply channel); posting needs the operator
/// role, and the user who posted is logged (an `audit` line: user, action, target).
struct MessageRoutes: Sendable {
    let messages: MessageService
    let settings: ServerSettings

    /// The largest page `GET /api/messages` answers.
    static let maxLimit = 1000
    static let defaultLimit = 100

    /// `POST /api/messages` body.
    struct PostBody: Decodable {
        /// A client id, or `null`/absent for a broadcast to every known client.
        var recipient: String?
        var content: String
    }

    /// One message as the API shows it (absent values are `null`).
    struct APIMessage: Encodable {
        var message: StoredMessage

        enum CodingKeys: String, CodingKey {
            case id, sender, recipient, content, seq, kind
            case messageID = "message_id"
            case sentAt = "sent_at"
            case storedAt = "stored_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(self.message.id, forKey: .id)
            try c.encode(self.message.messageID, forKey: .messageID)
            try c.encode(self.message.sender, forKey: .sender)
            try c.encode(self.message.recipient, forKey: .recipient)
            try c.encode(self.message.content, forKey: .content)
            try c.encode(self.message.seq, forKey: .seq)
            try c.encode(self.message.kind, forKey: .kind)
            try c.encode(self.message.sentAt, forKey: .sentAt)
            try c.encode(self.message.storedAt, forKey: .storedAt)
        }
    }

    /// `GET /api/messages` body.
    struct Page: Encodable {
        var messages: [APIMessage]
        /// Pass as `before` for the next (older) page; `null` when this page is the last.
        var nextBefore: Int64?

        enum CodingKeys: String, CodingKey {
            case messages
            case nextBefore = "next_before"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(self.messages, forKey: .messages)
            try c.encode(self.nextBefore, forKey: .nextBefore)
        }
    }

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.post("messages") { request, context in try await self.post(request, by: context.identity) }
        api.get("messages") { request, _ in try await self.list(request) }
    }

    /// The body limit: the longest content, every byte escaped as `\uXXXX`, plus room for the rest.
    var maxBodySize: Int { self.settings.messageMaxContentBytes * 6 + 4096 }

    func post(_ request: Request, by user: SignedInUser? = nil) async throws -> Response {
        let limit = self.maxBodySize
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError(.contentTooLarge, "body_too_large", "body of \(declared) bytes is over the limit of \(limit) bytes (6 × messages.max_content_bytes + 4096)")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "body_too_large", "body is over the limit of \(limit) bytes (6 × messages.max_content_bytes + 4096)")
        }
        guard body.readableBytes > 0 else {
            throw APIError(.badRequest, "invalid_body", "the body is empty; expected {\"recipient\": \"NAME\" or null, \"content\": \"TEXT\"}")
        }
        let parsed: PostBody
        do {
            parsed = try ProtocolViolation.decodeJSON(PostBody.self, from: Data(body.readableBytesView))
        } catch {
            throw APIError(.badRequest, error.code.rawValue, error.detail)
        }
        let stored: StoredMessage
        do {
            stored = try await self.messages.post(recipient: parsed.recipient, content: parsed.content)
        } catch {
            throw Self.apiError(for: error)
        }
        self.messages.logger.notice("audit", metadata: [
            "user": "\(user?.name ?? "-")", "action": "send_message", "target": "\(parsed.recipient?.logEscaped ?? "broadcast")", "message_id": "\(stored.messageID)",
        ])
        return try JSONResponse.make(APIMessage(message: stored), status: .created)
    }

    func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try APIRoutes.integer(query["limit"].map(String.init), name: "limit", default: Self.defaultLimit, range: 1...Self.maxLimit)
        let before = try query["before"].map { try APIRoutes.integer(String($0), name: "before", default: 0, range: 1...Int.max) }
        let client = query["client"].map(String.init)
        let peer = query["peer"].map(String.init)
        if peer != nil, client == nil {
            throw APIError(.badRequest, "invalid_parameter", "peer needs client: ?client=alice&peer=bob lists the messages between alice and bob")
        }
        // `server` is no client but sends notices and API messages: its conversations can be listed.
        for name in [client, peer].compactMap({ $0 }) where name != MessageRules.serverID {
            guard try await self.messages.isKnown(name) else {
                throw APIError(.notFound, "not_found", "no client named \(name.debugDescription) has registered with this server")
            }
        }
        let rows = try await self.messages.conversation(ConversationQuery(client: client, peer: peer, before: before.map(Int64.init), limit: limit))
        let page = Page(messages: rows.map(APIMessage.init), nextBefore: rows.count == limit ? rows.last?.id : nil)
        return try JSONResponse.make(page)
    }

    static func apiError(for refusal: MessageRefusal) -> APIError {
        switch refusal.kind {
        case .invalid: APIError(.badRequest, refusal.code.rawValue, refusal.detail)
        case .tooLarge: APIError(.contentTooLarge, refusal.code.rawValue, refusal.detail)
        case .unknownRecipient: APIError(.notFound, refusal.code.rawValue, refusal.detail)
        case .rateLimited: APIError(.tooManyRequests, refusal.code.rawValue, refusal.detail)
        case .busy: APIError(.serviceUnavailable, refusal.code.rawValue, refusal.detail, headers: [.retryAfter: "1"])
        case .failed: APIError(.internalServerError, "internal_error", refusal.detail)
        }
    }
}
