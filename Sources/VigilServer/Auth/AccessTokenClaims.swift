import Foundation
import JWTKit

/// The claims of an access token (a JWT signed with HS256).
///
/// `role` is what the user could do when the token was issued, for clients to show; the server
/// itself uses the user's current role, so a demotion takes effect at once.
struct AccessTokenClaims: JWTPayload, Equatable {
    static let issuer = "vigil"

    /// The user name.
    var sub: SubjectClaim
    var role: String
    /// The session id.
    var sid: String
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var iss: IssuerClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try self.exp.verifyNotExpired()
        guard self.iss.value == Self.issuer else {
            throw JWTError.claimVerificationFailure(failedClaim: self.iss, reason: "not issued by vigil")
        }
    }
}
