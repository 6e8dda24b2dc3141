import HTTPTypes
import Hummingbird

/// Enforces ``RouteAccess``: 401 `unauthorized` (with `WWW-Authenticate: Bearer`) without a valid
/// token, 403 `forbidden` when the role is too low.
struct RouteAccessMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext
    /// The Prometheus scrape token (`metrics.scrape_token_file`); nil when none is configured.
    var scrapeToken: ScrapeToken? = nil

    func handle(_ request: Request, context: VigilRequestContext, next: (Request, VigilRequestContext) async throws -> Response) async throws -> Response {
        let path = context.endpointPath ?? request.uri.path
        switch RouteAccess.required(method: request.method, path: path) {
        case .open:
            return try await next(request, context)
        case .viewerOrScrapeToken:
            if let user = context.identity, user.role.allows(.viewer) {
                return try await next(request, context)
            }
            if let scrapeToken = self.scrapeToken, let bearer = request.headers.bearer, scrapeToken.matches(bearer.token) {
                return try await next(request, context)
            }
            throw Self.unauthorized(request)
        case .role(let required):
            guard let user = context.identity else {
                throw Self.unauthorized(request)
            }
            guard user.role.allows(required) else {
                throw APIError(.forbidden, "forbidden", "\(request.method) \(path) needs the \(required.rawValue) role; \(user.name) is \(user.role.rawValue)")
            }
            return try await next(request, context)
        }
    }

    private static func unauthorized(_ request: Request) -> APIError {
        let presented = request.headers.bearer != nil
        return APIError(
            .unauthorized, "unauthorized",
            presented ? "the access token is invalid or expired, or its session has ended; refresh it (POST /api/auth/refresh) or sign in again"
                : "sign in (POST /api/auth/login) and send the access token as Authorization: Bearer <token>",
            headers: [.wwwAuthenticate: presented ? #"Bearer realm="vigil", error="invalid_token""# : #"Bearer realm="vigil""#]
        )
    }
}
