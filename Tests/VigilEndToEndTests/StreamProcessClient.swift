import Foundation
import HummingbirdWSClient
import Logging
import Synchronization

/// A live-stream client (`GET /api/stream`) against a server process: signs in as the admin,
/// subscribes, and keeps every message received, for tests to wait on.
final class StreamProcessClient: Sendable {
    private final class Inbox: Sendable {
        let texts = Mutex<[String]>([])
    }

    private let outgoing: AsyncStream<String>.Continuation
    private let inbox: Inbox
    private let task: Task<Void, any Error>

    /// Connects over plain HTTP on the loopback address (the e2e servers allow it there).
    init(port: Int) {
        let (stream, outgoing) = AsyncStream<String>.makeStream()
        let inbox = Inbox()
        self.outgoing = outgoing
        self.inbox = inbox
        self.task = Task {
            var configuration = WebSocketClientConfiguration()
            configuration.maxFrameSize = 16 << 20
            configuration.autoPing = .disabled
            _ = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/stream", configuration: configuration, logger: Logger(label: "e2e-stream")) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in stream { try await outbound.write(.text(text)) }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    for try await message in inbound.messages(maxSize: 16 << 20) {
                        guard case .text(let text) = message else { continue }
                        inbox.texts.withLock { $0.append(text) }
                    }
                    group.cancelAll()
                }
            }
        }
    }

    /// Signs in with `token` and subscribes to `topics`, waiting for both answers.
    func start(token: String, topics: [String]) async throws {
        self.send(["type": "auth", "token": token])
        _ = try await self.waitFor("ready on the stream") { $0["type"] as? String == "ready" }
        self.send(["type": "subscribe", "topics": topics])
        _ = try await self.waitFor("subscribed on the stream") { $0["type"] as? String == "subscribed" }
    }

    func send(_ object: [String: Any]) {
        let data = try! JSONSerialization.data(withJSONObject: object)
        self.outgoing.yield(String(decoding: data, as: UTF8.self))
    }

    /// Every message received so far, parsed, in order.
    var received: [[String: Any]] {
        self.inbox.texts.withLock { $0 }.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }

    /// The first message received (so far or later) that `matches`.
    func waitFor(_ what: String, timeout: Duration = .seconds(20), _ matches: ([String: Any]) -> Bool) async throws -> [String: Any] {
        try await VigilEndToEndTests.waitFor(what, timeout: timeout) { self.received.first(where: matches) }
    }

    func close() {
        self.outgoing.finish()
        self.task.cancel()
    }
}
