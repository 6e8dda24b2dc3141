import Hummingbird

/// Strips the body from every answer to `HEAD`, error answers included.
///
/// The router answers `HEAD` on each `GET` route (`.autoGenerateHeadEndpoints`) but only strips the
/// body of a successful answer; an error (401, 404) would otherwise go out with its JSON body, and
/// a client that sent HEAD reads those bytes as the start of the next answer. First in the chain.
struct HeadResponseMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .head else { return try await next(request, context) }
        do {
            return try await next(request, context).createHeadResponse()
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context).createHeadResponse()
        }
    }
}
