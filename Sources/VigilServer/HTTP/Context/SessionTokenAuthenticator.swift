import Hummingbird
import HummingbirdAuth

/// Sets the request's identity from `Authorization: Bearer <access token>` when the token is valid
/// and its session live. A missing or bad token leaves no identity; ``RouteAccessMiddleware`` decides
/// whether the route needs one.
struct SessionTokenAuthenticator: AuthenticatorMiddleware {
    typealias Context = VigilRequestContext
    let verifier: any AccessTokenVerifier

    func authenticate(request: Request, context: VigilRequestContext) async throws -> SignedInUser? {
        guard let bearer = request.headers.bearer, !bearer.token.isEmpty else { return nil }
        return await self.verifier.verify(accessToken: bearer.token)
    }
}
