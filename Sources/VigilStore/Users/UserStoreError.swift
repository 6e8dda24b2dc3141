/// Changes to users the store refuses.
public enum UserStoreError: Error, Sendable, Equatable {
    /// A user with this name exists already.
    case duplicate(String)
    /// No user has this name.
    case notFound(String)
    /// The change would leave no admin, and nobody could manage users and keys any more.
    case lastAdmin(String)
}
