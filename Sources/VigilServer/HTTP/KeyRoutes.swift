import Foundation
import Hummingbird
import Logging
import VigilProtocol
import VigilStore

/// `/api/keys*` (admin): agent keys over HTTP, as `vigil keys` does on the data directory.
struct KeyRoutes: Sendable {
    let store: any VigilStore
    let logger: Logger

    struct CreateBody: Decodable {
        var hostname: String
    }

    /// `POST /api/keys` answer: the key and, this once, its whole token.
    struct Issued: Encodable {
        var key: AgentKey
        var token: String

        func encode(to encoder: any Encoder) throws {
            try self.key.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.token, forKey: .token)
        }

        enum CodingKeys: String, CodingKey { case token }
    }

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.get("keys") { _, _ in try JSONResponse.make(try await self.store.listKeys()) }
        api.post("keys") { request, context in
            let admin = try AuthRoutes.signedIn(context)
            let body = try await AuthRoutes.decode(CreateBody.self, request, expected: #"{"hostname": "HOST"}"#)
            guard AgentAuthenticator.isValidHostname(body.hostname) else {
                throw APIError(.badRequest, "invalid_field", "hostname must be \(ClientName.rule)")
            }
            let issued = try await self.store.createKey(hostname: body.hostname)
            self.logger.notice("audit", metadata: ["user": "\(admin.name)", "action": "create_key", "target": "\(body.hostname)", "key": "\(issued.key.id)"])
            var response = try JSONResponse.make(Issued(key: issued.key, token: issued.token), status: .created)
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
            self.logger.notice("audit", metadata: ["user": "\(admin.name)", "action": "revoke_key", "target": "\(key.hostname)", "key": "\(key.id)"])
            return Response(status: .noContent)
        }
    }
}
