import Hummingbird

/// Turns the router's own errors (no such route, wrong method) into the API's JSON error form, so
/// every answer under `/api` is `{"error", "detail"}` and a client never has to parse an empty body.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            throw APIError(.notFound, "no_route", "no route for \(request.method) \(request.uri.path)")
        }
    }
}
