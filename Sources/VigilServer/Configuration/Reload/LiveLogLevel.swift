import Logging
import Synchronization

/// The log level every handler made by ``LiveLevelLogHandler`` follows, changed by a reload of
/// `log.level` without re-bootstrapping logging (swift-log allows one bootstrap per process).
///
/// An atomic, not a lock: every log call reads it, the suppressed debug line per heartbeat too.
public final class LiveLogLevel: Sendable {
    private let value: Atomic<UInt8>

    public init(_ level: Logger.Level) {
        self.value = Atomic(Self.index(of: level))
    }

    public var level: Logger.Level {
        get { Logger.Level.allCases[Int(self.value.load(ordering: .relaxed))] }
        set { self.value.store(Self.index(of: newValue), ordering: .relaxed) }
    }

    private static func index(of level: Logger.Level) -> UInt8 {
        UInt8(Logger.Level.allCases.firstIndex(of: level) ?? 0)
    }
}
