import Hummingbird

/// Turns the router's own errors (no such route, wrong method) into the API's JSON error form, so
/// every answer under `/api` is `{"error", "detail"}` and a client never has to parse an empty body.
///
/// A write that failed for want of space, on any route, is `503 storage_full` (not a bare 500),
/// and the shared ``StorageCondition`` learns of it.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    var storage: StorageCondition? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            throw APIError(.notFound, "no_route", "no route for \(request.method) \(request.uri.path)")
        } catch where !(error is HTTPResponseError) && StorageCondition.isStorageFull(error) {
            self.storage?.report(error, writing: "\(request.method) \(request.uri.path)")
            throw APIError.storageFull("the server's disk is full; nothing was stored. Retry once space returns",
                                       retryAfter: self.storage?.retryAfter ?? .seconds(5))
        }
    }
}
