import Logging
import Synchronization

/// The log level every handler made by ``LiveLevelLogHandler`` follows, changed by a reload of
/// `log.level` without re-bootstrapping logging (swift-log allows one bootstrap per process).
public final class LiveLogLevel: Sendable {
    private let value: Mutex<Logger.Level>

    public init(_ level: Logger.Level) {
        self.value = Mutex(level)
    }

    public var level: Logger.Level {
        get { self.value.withLock { $0 } }
        set { self.value.withLock { $0 = newValue } }
    }
}
