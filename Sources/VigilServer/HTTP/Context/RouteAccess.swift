import HTTPTypes
import VigilStore

/// Who may call a route: the one table of the API's access rules.
///
/// Decided by the route's pattern as registered (`/api/users/{name}`), so odd spellings of a path
/// (`//api/users`, a trailing slash) cannot slip past: they either match a route, and get its rule,
/// or match none and are answered 404 (after the token check, for paths under `/api`).
public enum RouteAccess: Equatable, Sendable {
    /// No sign-in: health checks, the dashboard's files, sign-in itself, agents posting metrics
    /// (their own key), and the live stream (it authenticates with its first message).
    case open
    /// A signed-in user with at least this role.
    case role(UserRole)
    /// A viewer (or higher), or a Prometheus server with the scrape token (`metrics.scrape_token_file`).
    case viewerOrScrapeToken

    /// The rule for a request. `path` is the matched route pattern, or the raw path when none matched.
    public static func required(method: HTTPRequest.Method, path: String) -> RouteAccess {
        if path == "/metrics" || path == "/metrics/fleet" {
            return .viewerOrScrapeToken
        }
        guard path == "/api" || path.hasPrefix("/api/") else { return .open }
        switch path {
        case "/api/health", "/api/auth/login", "/api/auth/refresh", "/api/stream":
            return .open
        case "/api/metrics" where method == .post:
            return .open  // X-API-Key with an agent key, checked by the route
        default:
            break
        }
        if path == "/api/users" || path.hasPrefix("/api/users/") || path == "/api/keys" || path.hasPrefix("/api/keys/") || path.hasPrefix("/api/admin/") {
            return .role(.admin)
        }
        if path.hasPrefix("/api/auth/") {
            return .role(.viewer)  // me, logout, password: one's own session
        }
        if method == .get || method == .head {
            return .role(.viewer)
        }
        if method == .post, path == "/api/messages" || (path.hasPrefix("/api/files/") && path.hasSuffix("/push")) {
            return .role(.operator)
        }
        // Acknowledging and silencing are the on-call operator's work; rules stay with admins.
        if method == .post, path == "/api/silences" || (path.hasPrefix("/api/alerts/") && path.hasSuffix("/ack")) {
            return .role(.operator)
        }
        if method == .delete, path.hasPrefix("/api/silences/") {
            return .role(.operator)
        }
        // Anything else that changes state is for admins until someone decides otherwise.
        return .role(.admin)
    }
}
