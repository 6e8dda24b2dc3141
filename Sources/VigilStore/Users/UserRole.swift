/// What a person signed in to the HTTP API may do. Roles are ordered: each includes the ones below it.
///
/// - `viewer` reads everything (fleet, history, events, messages, files) and nothing else.
/// - `operator` also acts on the fleet: sends messages and files, acknowledges alerts.
/// - `admin` also manages users and agent keys.
public enum UserRole: String, Sendable, Codable, CaseIterable, Comparable {
    case viewer
    case `operator`
    case admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }

    public static func < (lhs: UserRole, rhs: UserRole) -> Bool { lhs.rank < rhs.rank }

    /// Whether this role includes everything `required` may do.
    public func allows(_ required: UserRole) -> Bool { self >= required }
}
