import Hummingbird
import NIOSSL

/// `Strict-Transport-Security` on every answer sent over HTTPS, so a browser that once reached the
/// dashboard securely never falls back to plain HTTP for it (RFC 6797). Never on plain HTTP: a
/// header there could be injected by anyone on the path, and RFC 6797 §7.2 forbids it.
struct HSTSMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    let value: String

    init(maxAge: Duration) {
        self.value = "max-age=\(Int(maxAge.seconds))"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let isTLS = (try? await context.channel.pipeline.handler(type: NIOSSLServerHandler.self).get()) != nil
        do {
            var response = try await next(request, context)
            if isTLS { response.headers[.strictTransportSecurity] = self.value }
            return response
        } catch let error as any HTTPResponseError where isTLS {
            var response = try error.response(from: request, context: context)
            response.headers[.strictTransportSecurity] = self.value
            return response
        }
    }
}
