import Foundation
import Logging
import PostgresNIO

extension PostgresStore {
    /// LISTENs on `channel` on the dedicated connection `connectionID`, again and again, until the
    /// calling task is cancelled: each (re)connection runs `listening` first (a consumer catches up
    /// on what it may have missed), then hands every notification's payload to `received`. A
    /// failure is logged once per outage (`what` says what stopped) and retried after
    /// ``listenRetryDelay(afterFailures:)``.
    func listenUntilCancelled(channel: String, connectionID: Int, what: String,
                              listening: @Sendable () async throws -> Void, received: @Sendable (String) -> Void) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await self.dedicatedConnection(id: connectionID)
                do {
                    try await connection.listen(on: channel) { notifications in
                        try await listening()
                        failures = 0
                        for try await notification in notifications { received(notification.payload) }
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { break }
                failures += 1
                if failures == 1 {
                    self.logger.warning("\(what) interrupted; reconnecting", metadata: ["channel": "\(channel)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: Self.listenRetryDelay(afterFailures: failures))
        }
    }
}
