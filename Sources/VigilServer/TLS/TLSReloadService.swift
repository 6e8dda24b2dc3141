import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads the TLS certificates on SIGHUP (after `vigil tls rotate`, or when the operator replaced
/// the files): new connections get the new certificate, open ones keep theirs.
struct TLSReloadService: Service {
    let contexts: TLSContexts
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                self.logger.info("SIGHUP: reloading TLS certificates")
                // A failure is logged by reload(); the server keeps serving with the old certificates.
                try? self.contexts.reload()
            }
        }
    }
}
