import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the whole configuration on SIGHUP (`vigil reload`, `vigil tls rotate`, `kill -HUP`):
/// the file, and with it the TLS certificates (re-read on every reload).
struct ReloadService: Service {
    let reloader: ConfigurationReloader
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                self.logger.info("SIGHUP: reloading the configuration")
                // The outcome is logged, kept and written to the status file by the reloader.
                await self.reloader.reload(trigger: .signal)
            }
        }
    }
}
