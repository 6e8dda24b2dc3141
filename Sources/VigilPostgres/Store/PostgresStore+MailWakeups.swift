import Foundation
import Logging
import PostgresNIO
import VigilStore

/// Cross-server delivery: every message write NOTIFYs channel `vigil_mail` in its transaction
/// (so the word goes out at commit, never before), and each server LISTENs on a connection of its
/// own and wakes the recipients connected to it.
///
/// The payload is `<row id> <client> <client> …`, or `<row id> *` for a broadcast, kept under
/// PostgreSQL's 8000-byte limit by splitting (or by `*`, when a batch has too many recipients to
/// list). A NOTIFY is only a wake-up: mail is read from the table from each client's cursor, so
/// while the LISTEN connection is down nothing is lost, and after each (re)connection everyone
/// connected here is woken once to read what was stored meanwhile.
extension PostgresStore {
    static let mailChannel = "vigil_mail"
    /// The payload budget per NOTIFY (PostgreSQL refuses 8000 bytes and more).
    static let notifyPayloadLimit = 7000
    /// Recipients listed per batch before one `*` is cheaper for everyone.
    static let notifyMaxRecipients = 2000

    /// The NOTIFY payloads for one committed batch.
    static func wakeupPayloads(maxRowID: Int64, recipients: Set<String>, broadcast: Bool) -> [String] {
        if broadcast || recipients.count > Self.notifyMaxRecipients { return ["\(maxRowID) *"] }
        var payloads: [String] = []
        var current = "\(maxRowID)"
        for recipient in recipients.sorted() {
            if current.utf8.count + 1 + recipient.utf8.count > Self.notifyPayloadLimit {
                payloads.append(current)
                current = "\(maxRowID)"
            }
            current += " " + recipient
        }
        payloads.append(current)
        return payloads
    }

    /// Parses a payload; `nil` for one this version does not understand (ignored).
    static func wakeup(from payload: String) -> MailWakeup? {
        let parts = payload.split(separator: " ")
        guard let first = parts.first, let rowID = Int64(first), rowID > 0, parts.count > 1 else { return nil }
        if parts.count == 2, parts[1] == "*" { return .everyone(rowID: rowID) }
        return .clients(parts.dropFirst().map(String.init), rowID: rowID)
    }

    public func mailWakeups() -> AsyncStream<MailWakeup>? {
        let (stream, continuation) = AsyncStream<MailWakeup>.makeStream(bufferingPolicy: .bufferingNewest(Self.wakeupBuffer))
        let task = Task { [self] in
            await self.listenUntilCancelled(channel: Self.mailChannel, connectionID: 2, what: "mail wake-ups from other servers") {
                // Listening now: anything stored before this point is swept up once.
                continuation.yield(.everyone(rowID: try await self.newestMessageID()))
            } received: { payload in
                if let wakeup = Self.wakeup(from: payload) { continuation.yield(wakeup) }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Waits before listening again: 100 ms doubling per failure, at most ``listenRetryMax``.
    static func listenRetryDelay(afterFailures failures: Int) -> Duration {
        min(Self.listenRetryMax, .milliseconds(100 * (1 << min(failures, 6))))
    }

    /// The longest wait between attempts to LISTEN again after the connection failed.
    static let listenRetryMax: Duration = .seconds(5)
    /// Wake-ups buffered for a message service that has not taken them yet; older ones are
    /// dropped first (a wake-up only hurries a read: a dropped one costs a delay, not a message).
    static let wakeupBuffer = 10_000

    func newestMessageID() async throws -> Int64 {
        for try await id in try await self.client.query("SELECT COALESCE(MAX(id), 0)::bigint FROM messages", logger: self.logger).decode(Int64.self) {
            return id
        }
        return 0
    }
}
