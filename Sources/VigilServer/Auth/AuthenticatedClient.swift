/// Who the key check admitted.
public struct AuthenticatedClient: Sendable, Equatable {
    /// The client id: the key's host for a client with a key, else the name it registered with.
    public var hostname: String
    /// The id of the agent key presented (`vk_<id>_…`); `nil` when admitted without a key.
    public var keyID: String?

    public init(hostname: String, keyID: String? = nil) {
        self.hostname = hostname
        self.keyID = keyID
    }
}
