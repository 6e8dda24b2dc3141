import Foundation
import Logging
import Synchronization
import Testing
import VigilProtocol
@testable import VigilStore
@testable import VigilServer

/// The message writer after a failed store write: what still waits is retried without a new
/// request to wake it, and notices of the failed batch are not dropped.
@Suite("Message writer retry", .timeLimit(.minutes(1)))
struct MessageWriterRetryTests {
    @Test("a notice in a batch that failed to store is stored by the writer's retry, with no further request")
    func noticeRetried() async throws {
        let store = FlakyMessageStore(failures: 1)
        let service = MessageService(store: store, settings: ServerSettings(), logger: Logger(label: "test"))
        let running = Task { try await service.run() }
        defer { running.cancel() }
        service.notify(of: LivenessEvent(hostname: "web-1", from: .healthy, to: .down, reason: "no heartbeat for 42 s", at: Date()))
        try await eventually(timeout: .seconds(5), "the notice stored after the failed write") {
            store.notices.contains("host web-1 is DOWN: no heartbeat for 42 s")
        }
        #expect(store.attempts >= 2)
    }
}

/// A message store whose first writes fail; later ones succeed and are recorded.
final class FlakyMessageStore: MessageStore {
    private struct State {
        var failures: Int
        var attempts = 0
        var notices: [String] = []
    }

    private let state: Mutex<State>

    init(failures: Int) {
        self.state = Mutex(State(failures: failures))
    }

    var attempts: Int { self.state.withLock { $0.attempts } }
    var notices: [String] { self.state.withLock { $0.notices } }

    struct Failure: Error {}

    func write(_ writes: [MessageWrite]) async throws -> [MessageWriteOutcome] {
        try self.state.withLock { state in
            state.attempts += 1
            if state.failures > 0 {
                state.failures -= 1
                throw Failure()
            }
            return writes.map { write in
                switch write {
                case .notice(let content, _):
                    state.notices.append(content)
                    return .notices([])
                case .cursor: return .cursor
                case .message, .mailbox: return .unknownRecipient
                }
            }
        }
    }

    func mailbox(clientID: String) async throws -> Mailbox? { nil }
    func mail(for clientID: String, after: Int64, limit: Int) async throws -> [StoredMessage] { [] }
    func conversation(_ query: ConversationQuery) async throws -> [StoredMessage] { [] }
    func noticeSubscribers() async throws -> [String] { [] }
    func deleteExpiredMessages(deliveredBefore: Date, undeliveredBefore: Date) async throws -> MessageRetentionResult {
        MessageRetentionResult(delivered: 0, undelivered: 0)
    }
}
