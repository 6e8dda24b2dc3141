import VigilStore

/// What signing in or refreshing gives: a new access token and a new refresh token.
public struct TokenGrant: Sendable, Encodable, Equatable {
    /// The user as the API shows it.
    public struct User: Sendable, Codable, Equatable {
        public var name: String
        public var role: UserRole
    }

    public var accessToken: String
    public var tokenType = "Bearer"
    /// Seconds the access token is valid.
    public var expiresIn: Int
    public var refreshToken: String
    /// Seconds the refresh token is valid.
    public var refreshExpiresIn: Int
    public var user: User
    /// The session the tokens belong to.
    public var sessionID: String

    enum CodingKeys: String, CodingKey {
        case user
        case accessToken = "access_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
        case refreshToken = "refresh_token"
        case refreshExpiresIn = "refresh_expires_in"
    }
}
