import Foundation
import NIOCore
import Synchronization
import VigilStore

/// What waits for the message writer, in arrival order.
///
/// Producers (connections on their event loops, the HTTP API, the liveness recorder) append and
/// wake the writer; the single writer takes everything that waited, up to `messages.max_batch`
/// messages, and stores it in one transaction (group commit).
final class MessageQueue: Sendable {
    /// Who hears the outcome of a message.
    enum Origin: Sendable {
        /// A connection: the writer answers with `MESSAGE_ACK` (or a refusal) quoting `inReplyTo`.
        case session(SessionRef, inReplyTo: String?)
        /// An API call awaiting the stored row.
        case waiter(@Sendable (Result<MessageWriteOutcome, any Error>) -> Void)
    }

    enum Request: Sendable {
        case message(NewMessage, Origin)
        /// A server notice for every subscribed client.
        case notice(content: String, at: Date)
        /// A connection registered: create or refresh its mailbox, then start delivering to it.
        case mailbox(MailboxRegistration, SessionRef)

        var isMessage: Bool {
            if case .message = self { return true }
            return false
        }
    }

    enum Refusal: Error {
        /// `messages.max_pending` messages already wait.
        case full
        /// The service has stopped taking work (shutdown).
        case closed
    }

    private struct State {
        var requests = CircularBuffer<Request>()
        var messages = 0
        var closed = false
    }

    private let state = Mutex(State())
    private let maxPending: Int
    /// One element whenever there is something to write; at most one is buffered.
    let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(maxPending: Int) {
        self.maxPending = maxPending
        (self.wakeups, self.wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a request. Messages beyond `maxPending` are refused; mailboxes and notices are always
    /// taken (they are few, and refusing them would lose a registration or a notice).
    func enqueue(_ request: Request) throws(Refusal) {
        let refusal: Refusal? = self.state.withLock { state in
            if state.closed { return .closed }
            if request.isMessage {
                guard state.messages < self.maxPending else { return .full }
                state.messages += 1
            }
            state.requests.append(request)
            return nil
        }
        if let refusal { throw refusal }
        self.wake.yield()
    }

    /// Takes the requests that waited, in order, holding at most `maxMessages` messages.
    func take(maxMessages: Int) -> [Request] {
        self.state.withLock { state in
            var taken: [Request] = []
            var messages = 0
            while let next = state.requests.first {
                if next.isMessage {
                    guard messages < maxMessages else { break }
                    messages += 1
                }
                taken.append(state.requests.removeFirst())
            }
            state.messages -= messages
            return taken
        }
    }

    /// Removes the messages one connection queued, in order (the store failed one before them:
    /// they must not be stored ahead of its resend).
    func removeMessages(of connectionID: UInt64) -> [Request] {
        self.state.withLock { state in
            var kept = CircularBuffer<Request>()
            var removed: [Request] = []
            for request in state.requests {
                if case .message(_, .session(let ref, _)) = request, ref.connectionID == connectionID {
                    removed.append(request)
                } else {
                    kept.append(request)
                }
            }
            state.requests = kept
            state.messages -= removed.count
            return removed
        }
    }

    /// Puts requests taken for a batch that failed back in front, in their order (notices and
    /// registrations are retried rather than lost).
    func putBack(_ requests: [Request]) {
        guard !requests.isEmpty else { return }
        self.state.withLock { state in
            for request in requests.reversed() {
                state.requests.prepend(request)
                if request.isMessage { state.messages += 1 }
            }
        }
    }

    /// Wakes the writer without a request (cursors to persist).
    func nudge() {
        self.wake.yield()
    }

    /// Refuses further requests and ends `wakeups` once the writer has taken the last wake-up.
    func close() {
        self.state.withLock { $0.closed = true }
        self.wake.finish()
    }

    var pendingMessages: Int { self.state.withLock { $0.messages } }
    var isEmpty: Bool { self.state.withLock { $0.requests.isEmpty } }
}
