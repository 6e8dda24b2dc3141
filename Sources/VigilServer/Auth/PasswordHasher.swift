import HummingbirdBcrypt
import NIOPosix

/// bcrypt on the thread pool: a hash at cost 12 takes a quarter of a second of CPU, which must never
/// run on an event loop or a Swift concurrency thread that serves requests.
public struct PasswordHasher: Sendable {
    public let cost: Int
    let threadPool: NIOThreadPool

    public init(cost: Int, threadPool: NIOThreadPool = .singleton) {
        self.cost = cost
        self.threadPool = threadPool
    }

    /// The bcrypt hash of a password the ``PasswordPolicy`` accepted.
    public func hash(_ password: String) async throws -> String {
        let cost = UInt8(clamping: self.cost)
        return try await self.threadPool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`. bcrypt's own comparison is constant-time.
    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await self.threadPool.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
