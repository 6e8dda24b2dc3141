/// A state the PostgreSQL store should never reach (a row neither inserted nor found).
public enum PostgresStoreError: Error, CustomStringConvertible {
    case inconsistent(String)

    public var description: String {
        switch self {
        case .inconsistent(let what): "postgres store: \(what)"
        }
    }
}
