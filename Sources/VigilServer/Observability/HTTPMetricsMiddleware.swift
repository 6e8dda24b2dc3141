import HTTPTypes
import VigilProtocol
import Hummingbird

/// Times every HTTP request into ``ServerMetrics``' `vigil_http_request_duration_seconds`, from the
/// request's arrival at this middleware (the outermost) to the answer's last byte written.
///
/// Labelled by the matched route pattern (`/api/servers/{hostname}`), never the raw path: a
/// client cannot create series by inventing paths. Unmatched requests share the route `unmatched`,
/// and methods outside the standard set share `other`.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: VigilRequestContext, next: (Request, VigilRequestContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let method = Self.methodLabel(request.method)
        do {
            var response = try await next(request, context)
            let status = response.status.code
            let metrics = self.metrics
            let body = response.body
            // Timed once the body is written (Hummingbird's own post-write hook is package-internal).
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer { metrics.httpRequest(route: Self.routeLabel(context), method: method, status: status, seconds: Self.seconds(since: start)) }
                try await body.write(writer)
            }
            return response
        } catch {
            // Errors the inner middleware did not turn into an answer: Hummingbird answers them.
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            self.metrics.httpRequest(route: Self.routeLabel(context), method: method, status: status, seconds: Self.seconds(since: start))
            throw error
        }
    }

    /// The route pattern the router matched; read after the request, since the router sets it
    /// for unmatched requests only once they reach its not-found responder.
    static func routeLabel(_ context: VigilRequestContext) -> String {
        guard let path = context.endpointPath, path != "NotFound" else { return "unmatched" }
        return path
    }

    static func methodLabel(_ method: HTTPRequest.Method) -> String {
        switch method {
        case .get, .head, .post, .put, .patch, .delete, .options: method.rawValue
        default: "other"
        }
    }

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return elapsed.seconds
    }
}
