import Foundation
import Hummingbird
import Logging
import VigilProtocol
import VigilStore

/// `/api/keys*` (admin): agent keys over HTTP, as `vigil keys` does on the data directory.
struct KeyRoutes: Sendable {
    let store: any VigilStore
    /// Revoking a key closes the sessions using it at once.
    let sessions: RegisteredSessions
    let logger: Logger
    /// The enrollment token for a new key and its host; nil while TLS is off (nothing to pin).
    let enrollmentToken: @Sendable (_ key: String, _ host: String) throws -> String?

    struct CreateBody: Decodable {
        var hostname: String
    }

    /// `POST /api/keys` answer: the key and, this once, its whole token.
    struct Issued: Encodable {
        var key: AgentKey
        var token: String
        /// `vigil1.…`: the servers, the key and the CA's fingerprint (PROTOCOL.md §1.1).
        var enrollmentToken: String?

        func encode(to encoder: any Encoder) throws {
            try self.key.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.token, forKey: .token)
            try container.encodeIfPresent(self.enrollmentToken, forKey: .enrollmentToken)
        }

        enum CodingKeys: String, CodingKey {
            case token
            case enrollmentToken = "enrollment_token"
        }
    }

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.get("keys") { _, _ in try JSONResponse.make(try await self.store.listKeys()) }
        api.post("keys") { request, context in
            let admin = try AuthRoutes.signedIn(context)
            let body = try await AuthRoutes.decode(CreateBody.self, request, expected: #"{"hostname": "HOST"}"#)
            guard AgentAuthenticator.isValidHostname(body.hostname) else {
                throw APIError(.badRequest, "invalid_field", "hostname must be \(ClientName.rule)")
            }
            // Checked before the key exists: a token that cannot be made must not leave a key nobody saw.
            do {
                _ = try self.enrollmentToken("vk_check", body.hostname)
            } catch {
                throw APIError(.internalServerError, "internal_error", "cannot make an enrollment token: \(error)")
            }
            let issued = try await self.store.createKey(hostname: body.hostname)
            self.logger.notice("audit", metadata: ["user": "\(admin.name)", "action": "create_key", "target": "\(body.hostname)", "key": "\(issued.key.id)"])
            let enrollment = try? self.enrollmentToken(issued.token, body.hostname)
            var response = try JSONResponse.make(Issued(key: issued.key, token: issued.token, enrollmentToken: enrollment ?? nil), status: .created)
            response.headers[.cacheControl] = "no-store"
            return response
        }
        api.delete("keys/:id") { _, context in
            let admin = try AuthRoutes.signedIn(context)
            let text = try context.parameters.require("id")
            let id = text.hasPrefix(AgentKeyToken.prefix) ? (AgentKeyToken(text)?.id ?? text) : text
            guard let key = try await self.store.revokeKey(id: id) else {
                throw APIError(.notFound, "not_found", "no key with id \(id.prefix(64))")
            }
            let closed = self.sessions.closeSessions(usingKey: key.id, reason: "key \(key.id) (host \(key.hostname)) has been revoked")
            self.logger.notice("audit", metadata: ["user": "\(admin.name)", "action": "revoke_key", "target": "\(key.hostname)", "key": "\(key.id)", "sessions_closed": "\(closed)"])
            return Response(status: .noContent)
        }
    }
}
