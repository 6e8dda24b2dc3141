import Logging
import ServiceLifecycle
import VigilStore

/// Receives, verifies and keeps files.
public final class FileService: Service, Sendable {
    let settings: ServerSettings
    let logger: Logger

    public init(store: any VigilStore, settings: ServerSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
    }
}
