import Synchronization

/// Who a stream connection is signed in as (`nil` until its first good `auth`); shared by the
/// connection's reader, watchdog and drop handler.
final class StreamIdentity: Sendable {
    private let user = Mutex<SignedInUser?>(nil)

    var current: SignedInUser? { self.user.withLock { $0 } }

    func set(_ user: SignedInUser) {
        self.user.withLock { $0 = user }
    }
}
