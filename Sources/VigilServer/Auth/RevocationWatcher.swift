import Foundation
import Logging
import ServiceLifecycle
import VigilProtocol
import VigilStore

/// Ends the live sessions of keys revoked elsewhere: `vigil keys revoke` changes the database
/// directly (the server may be running), and another server may share it. Every
/// `agents.revocation_check_interval` it asks the store which keys were revoked since it last looked
/// and closes their sessions (API revocations close theirs at once, without waiting for this).
struct RevocationWatcher: Service {
    let store: any VigilStore
    let sessions: RegisteredSessions
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // Revocations from just before the start are covered too: registration already refuses
        // those keys, so closing is a no-op for them.
        await cancelWhenGracefulShutdown {
            await self.watch()
        }
    }

    private func watch() async {
        var since = Date() - 5
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: self.interval)
            } catch {
                return
            }
            // Only when a session with a key is open: an idle server does not poll the store.
            guard self.sessions.hasKeyedSessions else { continue }
            do {
                let revoked = try await self.store.keysRevoked(since: since)
                for key in revoked {
                    if let at = key.revokedAt { since = max(since, at - 1) }
                    let closed = self.sessions.closeSessions(usingKey: key.id, reason: "key \(key.id) (host \(key.hostname)) has been revoked")
                    guard closed > 0 else { continue }  // revoked earlier, or no session used it
                    self.logger.notice("closed the sessions of a revoked key", metadata: ["key": "\(key.id)", "host": "\(key.hostname.logEscaped)", "sessions": "\(closed)"])
                }
            } catch {
                self.logger.warning("could not check for revoked keys; retrying", metadata: ["error": "\(error)"])
            }
        }
    }
}
