import Logging

/// Wraps a handler so its level is the shared ``LiveLogLevel``'s, read on every log call: a reload
/// of `log.level` reaches every logger at once, those made before it included.
///
/// A logger that sets its own level (`logger.logLevel = …`) keeps that one from then on.
public struct LiveLevelLogHandler: LogHandler {
    private var wrapped: any LogHandler
    private let live: LiveLogLevel
    private var ownLevel: Logger.Level?

    public init(wrapping handler: any LogHandler, level: LiveLogLevel) {
        self.wrapped = handler
        self.live = level
    }

    public var logLevel: Logger.Level {
        get { self.ownLevel ?? self.live.level }
        set { self.ownLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { self.wrapped.metadata }
        set { self.wrapped.metadata = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { self.wrapped.metadataProvider }
        set { self.wrapped.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.wrapped[metadataKey: key] }
        set { self.wrapped[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        // `Logger` has already compared the event with ``logLevel``; the wrapped handler only writes.
        self.wrapped.log(event: event)
    }
}
