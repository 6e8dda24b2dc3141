#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import NIOPosix
import Synchronization
import VigilProtocol

/// A person's (or a script's) connection to a Vigil server: registers as `kind: "user"`, keeps
/// heartbeats, reconnects with backoff, and delivers messages durably.
///
/// Own messages go into an outbox and stay there until the server's `MESSAGE_ACK` (status `stored`
/// or `duplicate`); after a reconnect the outbox is sent again in order with the same ids, so the
/// server stores each message once. Messages for this client are acknowledged as they arrive and
/// reported once on ``events`` even when the server delivers them again.
///
/// Use: start ``run()`` in a task, read ``events``, call ``send(_:to:)``, ``listClients()``, and
/// ``leave(reason:drainTimeout:)`` to finish; ``run()`` returns how the client stopped.
public final class ClientConnection: Sendable {
    public let settings: ClientSettings
    /// Everything that happens, in order; ends after ``ClientEvent/stopped(_:)``. Read it (one reader):
    /// events are kept until read.
    public let events: AsyncStream<ClientEvent>
    let eventSink: AsyncStream<ClientEvent>.Continuation
    let inputs: AsyncStream<ClientInput>
    let inputSink: AsyncStream<ClientInput>.Continuation
    let logger: Logger
    let group: any EventLoopGroup
    private let sequence = Mutex<UInt64>(0)
    private let started = Atomic<Bool>(false)
    /// Set by the loop when it stops, so calls made afterwards fail with the real reason.
    let finalExit = Mutex<ClientExit?>(nil)

    public init(settings: ClientSettings, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.settings = settings
        self.logger = logger
        self.group = group
        (self.events, self.eventSink) = AsyncStream.makeStream()
        (self.inputs, self.inputSink) = AsyncStream.makeStream()
    }

    /// Connects, registers, and keeps the connection until ``leave(reason:drainTimeout:)``, a
    /// permanent refusal, or ``ClientSettings/giveUpAfter``. Call once.
    public func run() async -> ClientExit {
        precondition(!self.started.exchange(true, ordering: .relaxed), "ClientConnection.run() called twice")
        return await ClientLoop(connection: self).run()
    }

    /// Queues a message: broadcast when `recipient` is `nil`. It is sent at once when registered,
    /// else after the (re)connection. Watch ``events`` for its ``ClientEvent/acknowledged(_:duplicate:)``
    /// or ``ClientEvent/messageRefused(_:code:reason:)``.
    @discardableResult
    public func send(_ content: String, to recipient: String?) -> OutgoingMessage {
        // The counter and the queueing happen under one lock, so seq order is outbox order.
        self.sequence.withLock { seq in
            seq += 1
            let message = OutgoingMessage(messageID: UUID().uuidString.lowercased(), seq: seq, recipient: recipient, content: content)
            self.inputSink.yield(.command(.send(message)))
            return message
        }
    }

    /// Asks who is online; the answer arrives as ``ClientEvent/clientList(_:)``.
    public func listClients() {
        self.inputSink.yield(.command(.listClients))
    }

    /// Leaves cleanly: waits up to `drainTimeout` for unacknowledged messages, sends
    /// `CLIENT_UNREGISTER`, reads the goodbye (bounded), and stops. ``run()`` then returns.
    public func leave(reason: String = "user left", drainTimeout: Duration = .seconds(5)) {
        self.inputSink.yield(.command(.leave(reason: reason, drainTimeout: drainTimeout)))
    }

    /// Sends `END` (no more files in this session) and returns the server's answer ("N files saved, M failed").
    public func end() async throws -> ServerResponsePayload {
        try await self.call { .end($0) }
    }

    // MARK: For the file sender

    func waitUntilRegistered() async throws -> RegisteredLink {
        try await self.call { .waitRegistered($0) }
    }

    func offer(_ offer: FileOfferPayload) async throws -> OfferAnswer {
        try await self.call { .offer(offer, $0) }
    }

    /// Waits for `FILE_SAVED` or `FILE_FAILED` of a transfer (returns at once if it already came).
    func fileResult(transferID: String) async throws -> FileResult {
        try await withTaskCancellationHandler {
            try await self.call { .fileResult(transferID: transferID, $0) }
        } onCancel: {
            self.inputSink.yield(.command(.cancelFileResult(transferID: transferID)))
        }
    }

    /// Posts a command that the loop answers through a continuation; fails at once when the loop has ended.
    private func call<T: Sendable>(_ command: (CheckedContinuation<T, any Error>) -> ClientCommand) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            if case .terminated = self.inputSink.yield(.command(command(continuation))) {
                continuation.resume(throwing: ClientError.stopped(self.finalExit.withLock { $0 } ?? .left(unsent: 0)))
            }
        }
    }
}
