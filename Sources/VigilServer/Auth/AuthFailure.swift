/// Why the user and session service refused something. The HTTP routes turn each into an answer.
public enum AuthFailure: Error, Sendable, Equatable {
    /// Unknown user or wrong password (one answer for both, so names cannot be probed).
    case invalidCredentials
    /// Too many failed sign-ins for the name or the address; try again after this long.
    case throttled(retryAfter: Duration)
    /// A refresh token that is unknown, spent, expired, or whose session has ended.
    case invalidToken
    /// The current password given to change it is wrong.
    case wrongPassword
    /// A new password the policy refuses (the text says why, never the password).
    case weakPassword(String)
    /// A user name that breaks ``UserName/rule``.
    case invalidName
    case userExists(String)
    case userNotFound(String)
    /// Removing or demoting the last admin.
    case lastAdmin(String)
}
