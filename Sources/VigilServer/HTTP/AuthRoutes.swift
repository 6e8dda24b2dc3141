import Foundation
import Hummingbird
import VigilProtocol
import VigilStore

/// `/api/auth/*`: sign in, refresh, sign out, who am I, change my password.
struct AuthRoutes: Sendable {
    let users: UserService

    /// The largest body of these routes (a name and two passwords fit many times over).
    static let maxBodySize = 16 << 10

    struct LoginBody: Decodable {
        var username: String
        var password: String
    }

    struct RefreshBody: Decodable {
        var refreshToken: String
        enum CodingKeys: String, CodingKey { case refreshToken = "refresh_token" }
    }

    struct PasswordBody: Decodable {
        var currentPassword: String
        var newPassword: String
        enum CodingKeys: String, CodingKey {
            case currentPassword = "current_password"
            case newPassword = "new_password"
        }
    }

    /// `GET /api/auth/me` body.
    struct Me: Encodable {
        var name: String
        var role: UserRole
        var sessionID: String
        enum CodingKeys: String, CodingKey {
            case name, role
            case sessionID = "session_id"
        }
    }

    func register(on api: RouterGroup<VigilRequestContext>) {
        let auth = api.group("auth")
        auth.post("login") { request, context in
            let body = try await Self.decode(LoginBody.self, request, expected: #"{"username": "NAME", "password": "PASSWORD"}"#)
            let grant = try await Self.answer { try await self.users.signIn(name: body.username, password: body.password, address: Self.address(context)) }
            return try Self.tokenResponse(grant)
        }
        auth.post("refresh") { request, _ in
            let body = try await Self.decode(RefreshBody.self, request, expected: #"{"refresh_token": "TOKEN"}"#)
            let grant = try await Self.answer { try await self.users.refresh(token: body.refreshToken) }
            return try Self.tokenResponse(grant)
        }
        auth.post("logout") { _, context in
            let user = try Self.signedIn(context)
            try await self.users.signOut(sessionID: user.sessionID)
            return Response(status: .noContent)
        }
        auth.get("me") { _, context in
            let user = try Self.signedIn(context)
            return try JSONResponse.make(Me(name: user.name, role: user.role, sessionID: user.sessionID))
        }
        auth.post("password") { request, context in
            let user = try Self.signedIn(context)
            let body = try await Self.decode(PasswordBody.self, request, expected: #"{"current_password": "…", "new_password": "…"}"#)
            try await Self.answer {
                try await self.users.changePassword(of: user, current: body.currentPassword, new: body.newPassword, address: Self.address(context))
            }
            return Response(status: .noContent)
        }
    }

    /// Tokens must not be cached by anything between the server and the page.
    static func tokenResponse(_ grant: TokenGrant) throws -> Response {
        var response = try JSONResponse.make(grant)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    static func address(_ context: VigilRequestContext) -> String? {
        context.channel.remoteAddress?.ipAddress
    }

    static func signedIn(_ context: VigilRequestContext) throws -> SignedInUser {
        guard let user = context.identity else {
            // RouteAccessMiddleware has answered 401 already; this is a second line.
            throw APIError(.unauthorized, "unauthorized", "sign in first", headers: [.wwwAuthenticate: #"Bearer realm="vigil""#])
        }
        return user
    }

    /// Reads a small JSON body.
    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, expected: String) async throws -> T {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBodySize)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "body_too_large", "body is over the limit of \(Self.maxBodySize) bytes")
        }
        do {
            return try ProtocolViolation.decodeJSON(T.self, from: Data(body.readableBytesView))
        } catch {
            throw APIError(.badRequest, error.code.rawValue, "\(error.detail); expected \(expected)")
        }
    }

    /// Runs a service call, turning its ``AuthFailure`` into the API's answer.
    @discardableResult
    static func answer<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as AuthFailure {
            throw Self.apiError(for: failure)
        }
    }

    static func apiError(for failure: AuthFailure) -> APIError {
        switch failure {
        case .invalidCredentials:
            APIError(.unauthorized, "invalid_credentials", "unknown user name or wrong password")
        case .throttled(let wait):
            APIError(.tooManyRequests, "too_many_attempts", "too many failed sign-ins for this user name or from this address; try again later",
                     headers: [.retryAfter: "\(max(1, Int(wait.seconds.rounded(.up))))"])
        case .invalidToken:
            APIError(.unauthorized, "invalid_token", "the refresh token is unknown, spent or expired, or its session has ended; sign in again")
        case .wrongPassword:
            APIError(.forbidden, "wrong_password", "the current password is wrong")
        case .weakPassword(let problem):
            APIError(.badRequest, "weak_password", problem)
        case .invalidName:
            APIError(.badRequest, "invalid_name", UserName.rule)
        case .userExists(let name):
            APIError(.conflict, "user_exists", "a user named \(name) exists already")
        case .userNotFound(let name):
            APIError(.notFound, "not_found", "no user named \(name.prefix(64))")
        case .lastAdmin(let name):
            APIError(.conflict, "last_admin", "\(name) is the last admin; make another user admin first")
        }
    }
}
