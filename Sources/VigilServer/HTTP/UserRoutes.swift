import Foundation
import Hummingbird
import VigilStore

/// `/api/users*` (admin): list, add, change and remove users.
struct UserRoutes: Sendable {
    let users: UserService
    /// A removed person's open tool sessions (`vigil chat` registered under their name) end at once.
    let sessions: RegisteredSessions

    /// One user as the API shows it (never the hash).
    struct APIUser: Encodable {
        var name: String
        var role: UserRole
        var createdAt: Date
        var updatedAt: Date

        init(_ record: UserRecord) {
            self.name = record.name
            self.role = record.role
            self.createdAt = record.createdAt
            self.updatedAt = record.updatedAt
        }

        enum CodingKeys: String, CodingKey {
            case name, role
            case createdAt = "created_at"
            case updatedAt = "updated_at"
        }
    }

    struct CreateBody: Decodable {
        var name: String
        var password: String
        var role: UserRole
    }

    struct UpdateBody: Decodable {
        var role: UserRole?
        var password: String?
    }

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.get("users") { _, _ in
            try JSONResponse.make(try await self.users.users().map(APIUser.init))
        }
        api.post("users") { request, context in
            let admin = try AuthRoutes.signedIn(context)
            let body = try await AuthRoutes.decode(CreateBody.self, request, expected: #"{"name": "NAME", "password": "PASSWORD", "role": "viewer|operator|admin"}"#)
            let record = try await AuthRoutes.answer {
                try await self.users.addUser(name: body.name, password: body.password, role: body.role, by: admin.name)
            }
            return try JSONResponse.make(APIUser(record), status: .created)
        }
        api.patch("users/:name") { request, context in
            let admin = try AuthRoutes.signedIn(context)
            let name = try context.parameters.require("name")
            let body = try await AuthRoutes.decode(UpdateBody.self, request, expected: #"{"role": "viewer|operator|admin", "password": "PASSWORD"} (either or both)"#)
            guard body.role != nil || body.password != nil else {
                throw APIError(.badRequest, "invalid_body", "nothing to change: give role, password or both")
            }
            let record = try await AuthRoutes.answer {
                try await self.users.updateUser(name: name, role: body.role, password: body.password, by: admin.name)
            }
            return try JSONResponse.make(APIUser(record))
        }
        api.delete("users/:name") { _, context in
            let admin = try AuthRoutes.signedIn(context)
            let name = try context.parameters.require("name")
            try await AuthRoutes.answer { try await self.users.removeUser(name: name, by: admin.name) }
            self.sessions.closeSessions(ofUser: name, reason: "user \(name) was removed")
            return Response(status: .noContent)
        }
    }
}
