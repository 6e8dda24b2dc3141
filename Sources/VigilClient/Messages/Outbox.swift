/// Own messages not yet acknowledged by the server, in the order they were sent.
///
/// A message is *written* once it went out on the current connection. After a reconnect every
/// message is unwritten again and goes out anew, in order, with its original id: the server stores
/// each id once (UNIQUE(sender, message_id)) and answers a resend with `duplicate`.
struct Outbox {
    private struct Entry {
        var message: OutgoingMessage
        var written: Bool
        /// Refused for a passing reason: not written again before this instant.
        var notBefore: ContinuousClock.Instant?
    }

    private var entries: [Entry] = []

    var count: Int { self.entries.count }
    var isEmpty: Bool { self.entries.isEmpty }
    /// Written on this connection and not yet acknowledged.
    var inFlight: Int { self.entries.reduce(0) { $0 + ($1.written ? 1 : 0) } }

    mutating func append(_ message: OutgoingMessage) {
        self.entries.append(Entry(message: message, written: false, notBefore: nil))
    }

    func contains(_ messageID: String) -> Bool {
        self.entries.contains { $0.message.messageID == messageID }
    }

    /// Removes an acknowledged (or finally refused) message.
    mutating func remove(_ messageID: String) -> OutgoingMessage? {
        guard let index = self.entries.firstIndex(where: { $0.message.messageID == messageID }) else { return nil }
        return self.entries.remove(at: index).message
    }

    /// Marks a message for another try after `instant` (the server refused it for a passing reason).
    mutating func retry(_ messageID: String, notBefore instant: ContinuousClock.Instant) {
        guard let index = self.entries.firstIndex(where: { $0.message.messageID == messageID }) else { return }
        self.entries[index].written = false
        self.entries[index].notBefore = instant
    }

    /// The connection is gone: nothing is written on the next one yet.
    mutating func connectionLost() {
        for index in self.entries.indices { self.entries[index].written = false }
    }

    /// The messages to write now, in order, marking them written: at most `limit` in flight, and
    /// none past one that must wait (so order is kept).
    mutating func takeWritable(limit: Int, now: ContinuousClock.Instant) -> [OutgoingMessage] {
        var room = limit - self.inFlight
        var taken: [OutgoingMessage] = []
        for index in self.entries.indices where room > 0 {
            if self.entries[index].written { continue }
            if let notBefore = self.entries[index].notBefore, notBefore > now { break }
            self.entries[index].written = true
            self.entries[index].notBefore = nil
            taken.append(self.entries[index].message)
            room -= 1
        }
        return taken
    }

    /// The earliest instant a waiting message may be written again.
    var nextRetry: ContinuousClock.Instant? {
        self.entries.compactMap(\.notBefore).min()
    }
}
