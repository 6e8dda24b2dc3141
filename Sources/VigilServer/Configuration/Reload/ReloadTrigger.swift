/// What asked for a reload.
public enum ReloadTrigger: Sendable, Equatable {
    /// SIGHUP (`vigil reload`, `vigil tls rotate`, or `kill -HUP`).
    case signal
    /// `POST /api/admin/reload`, by the named user.
    case api(user: String)
    /// A caller inside the process (tests, embedding).
    case direct

    /// As outcomes and the API show it.
    public var name: String {
        switch self {
        case .signal: "sighup"
        case .api: "api"
        case .direct: "direct"
        }
    }

    /// Who asked, when known.
    public var user: String? {
        if case .api(let user) = self { return user }
        return nil
    }
}
