/// What presenting a refresh token did.
public enum RefreshOutcome: Sendable, Equatable {
    /// The token was current: it is now spent and the new one replaces it.
    case rotated(UserSession)
    /// The token had already been spent: someone holds a copy, so the whole session was ended.
    case reused(sessionID: String)
    /// No such token, or its session has ended or expired.
    case invalid
}
