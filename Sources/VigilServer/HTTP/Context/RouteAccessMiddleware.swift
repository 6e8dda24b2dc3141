import HTTPTypes
import Hummingbird

/// Enforces ``RouteAccess``: 401 `unauthorized` (with `WWW-Authenticate: Bearer`) without a valid
/// token, 403 `forbidden` when the role is too low.
struct RouteAccessMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    func handle(_ request: Request, context: VigilRequestContext, next: (Request, VigilRequestContext) async throws -> Response) async throws -> Response {
        let path = context.endpointPath ?? request.uri.path
        switch RouteAccess.required(method: request.method, path: path) {
        case .open:
            return try await next(request, context)
        case .role(let required):
            guard let user = context.identity else {
                let presented = request.headers.bearer != nil
                throw APIError(
                    .unauthorized, "unauthorized",
                    presented ? "the access token is invalid or expired, or its session has ended; refresh it (POST /api/auth/refresh) or sign in again"
                        : "sign in (POST /api/auth/login) and send the access token as Authorization: Bearer <token>",
                    headers: [.wwwAuthenticate: presented ? #"Bearer realm="vigil", error="invalid_token""# : #"Bearer realm="vigil""#]
                )
            }
            guard user.role.allows(required) else {
                throw APIError(.forbidden, "forbidden", "\(request.method) \(path) needs the \(required.rawValue) role; \(user.name) is \(user.role.rawValue)")
            }
            return try await next(request, context)
        }
    }
}
