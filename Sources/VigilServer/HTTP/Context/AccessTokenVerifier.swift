/// Checks the access tokens people present (a bearer header on the REST API, the first message on
/// the live stream) and whether the session a token belongs to is still live.
///
/// The real implementation is the server's user and session service (`VigilServer.users`). An
/// access token is only as good as its session: signing out ends the session at once, before the
/// token's own expiry, so long-lived connections re-check `isSessionActive` from time to time.
public protocol AccessTokenVerifier: Sendable {
    /// The user a valid access token names, or `nil` when the token is malformed, badly signed,
    /// expired, or belongs to a session that has ended.
    func verify(accessToken: String) async -> SignedInUser?

    /// Whether the session is still live (not signed out, not ended by a password change, a
    /// removed user, or the reuse of a rotated refresh token).
    func isSessionActive(_ sessionID: String) async -> Bool
}
