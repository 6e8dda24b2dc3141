import Synchronization

/// The settings in force now, for components that read a value on every use (rate limits, the
/// interval agents are told at registration): a reload replaces them as a whole.
///
/// It only ever holds what ``ReloadPolicy`` lets change live: the restart-only keys keep the
/// values the server started with until it restarts, so reading one here is always safe.
public final class LiveSettings: Sendable {
    private let value: Mutex<ServerSettings>

    public init(_ settings: ServerSettings) {
        self.value = Mutex(settings)
    }

    /// The settings in force now.
    public var current: ServerSettings { self.value.withLock { $0 } }

    /// Installs new settings (the reloader's second phase).
    func replace(with settings: ServerSettings) {
        self.value.withLock { $0 = settings }
    }
}
