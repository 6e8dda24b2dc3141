import Foundation
import Logging
import PostgresNIO
import VigilAPI
import VigilStore

/// The live view shared by the members of a cluster: each server NOTIFYs what it ingests and
/// decides on channel `vigil_live`, and LISTENs there for what the others do.
///
/// Unlike `vigil_mail` (a wake-up; the table is the truth) these payloads carry the items
/// themselves: samples, liveness changes, alert changes. A payload missed while the LISTEN
/// connection was down is gone; the listener is told (``LiveNotification/listening``) each time it
/// listens again, and reads the hosts' state from the `agents` table then.
extension PostgresStore {
    /// The channel members relay their live items on.
    public static let liveChannel = "vigil_live"
    /// PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
    public static let notifyPayloadMaximum = 7999

    /// Sends `payloads` on `channel`, in order, in one statement (one transaction: they go out at
    /// once when it commits). PostgreSQL folds identical payloads of one transaction into one, so
    /// callers make each unique (the relay numbers them).
    public func notify(channel: String, payloads: [String]) async throws {
        guard !payloads.isEmpty else { return }
        let rows = try await self.client.query(
            PostgresQuery(unsafeSQL: "SELECT pg_notify($1, p) FROM unnest($2::text[]) p", binds: try Self.binds(channel, payloads)),
            logger: self.logger)
        for try await _ in rows {}
    }

    /// LISTENs on `channel` on a connection of its own, reconnecting when it fails, until the
    /// stream is dropped. Each (re)connection first yields ``LiveNotification/listening``.
    ///
    /// - Parameter buffer: Notifications kept for a consumer that has not taken them yet; past it
    ///   the oldest are dropped (a live view prefers the newest).
    public func listen(channel: String, buffer: Int) -> AsyncStream<LiveNotification> {
        let (stream, continuation) = AsyncStream<LiveNotification>.makeStream(bufferingPolicy: .bufferingNewest(buffer))
        let task = Task { [self] in
            await self.listenUntilCancelled(channel: channel, connectionID: 3, what: "live view from other servers") {
                continuation.yield(.listening)
            } received: { payload in
                continuation.yield(.payload(payload))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// The hosts expected to be sending heartbeats that `memberID` does not hold, with the member
    /// that last claimed each (`nil`: none does, e.g. its server died and it has not reconnected):
    /// what a member shows of the others' hosts when it starts or listens again.
    public func agentsNotHeld(by memberID: String) async throws -> [(record: AgentRecord, owner: String?)] {
        let expecting = LivenessState.allCases.filter(\.expectsHeartbeats).map(\.rawValue)
        let rows = try await self.client.query(PostgresQuery(unsafeSQL: """
            SELECT * FROM agents WHERE state = ANY($1) AND owner IS DISTINCT FROM $2 ORDER BY hostname
            """, binds: try Self.binds(expecting, memberID)), logger: self.logger).rows()
        return try rows.map { (record: try Self.agent(from: $0), owner: try $0.value("owner", as: String?.self)) }
    }
}
