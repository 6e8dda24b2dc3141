/// Settings of users, sessions and sign-in (`auth.*`). docs/OPERATIONS.md lists them.
public struct AuthSettings: Sendable, Equatable {
    /// bcrypt's cost (log2 of its rounds) for new password hashes. 12 takes ~0.25 s on one core:
    /// slow enough to make guessing expensive, fast enough for a sign-in.
    public var bcryptCost = 12
    /// How long an access token (JWT) is valid. Short: a stolen one is useful only briefly.
    public var accessTokenTTL: Duration = .seconds(15 * 60)
    /// How long a refresh token is valid; using it gives a new one, so an active page stays signed in.
    public var refreshTokenTTL: Duration = .seconds(7 * 86_400)
    /// Failed sign-ins for one user name within `loginFailureWindow` before further tries are refused (429).
    public var loginFailuresPerUser = 5
    /// Failed sign-ins from one client address within `loginFailureWindow` before further tries are refused.
    public var loginFailuresPerAddress = 20
    /// The window failed sign-ins are counted over.
    public var loginFailureWindow: Duration = .seconds(15 * 60)
    /// User names and addresses with failures remembered at most; past this the oldest are forgotten
    /// (so a flood of made-up names cannot grow memory without bound).
    public var loginTrackingCapacity = 100_000
    /// How often users and live sessions are read again from the store, to see changes made by
    /// `vigil users` or by another server on the same database.
    public var reloadInterval: Duration = .seconds(5)
    /// The shortest password accepted.
    public var minPasswordLength = 10
    /// The name of the admin created on a first start.
    public var initialAdminName = "admin"
    /// The first admin's password. When unset, a random one is generated and logged once.
    public var initialAdminPassword: String?

    public init() {}

    /// bcrypt reads at most 72 bytes of a password; longer ones are refused rather than silently cut.
    public static let maxPasswordBytes = 72
}
