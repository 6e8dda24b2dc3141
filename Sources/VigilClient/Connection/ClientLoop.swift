#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import VigilConnection
import VigilProtocol

/// The state of one ``ClientConnection/run()``: the current session, the outbox, the calls waiting
/// for an answer. Only the loop in ``run()`` touches it, one input at a time, and nothing in the
/// handling suspends (writes are queued on the channel), so the state needs no lock.
final class ClientLoop {
    enum Phase: Equatable {
        /// Waiting out the backoff before the next connection.
        case idle
        case connecting
        case registering
        case registered
        /// `CLIENT_UNREGISTER` sent; waiting for the goodbye.
        case unregistering
    }

    /// Where a transfer's `FILE_SAVED` / `FILE_FAILED` goes.
    enum ResultSlot {
        /// The receiver said FILE_READY; the result will come.
        case expected
        case waiting(CheckedContinuation<FileResult, any Error>)
        /// It came before anyone asked.
        case arrived(FileResult)
    }

    struct PendingOffer {
        let messageID: String
        let continuation: CheckedContinuation<OfferAnswer, any Error>
    }

    let connection: ClientConnection
    let settings: ClientSettings
    var logger: Logger

    // MARK: Session
    var generation: UInt64 = 0
    var phase = Phase.idle
    var link: ConnectionLink?
    var parameters: SessionParameters?
    var heartbeatSeq: UInt64 = 0
    var heartbeatsAcked: UInt64 = 0
    /// Timers of the current connection (register deadline, heartbeats, unregister deadline).
    var sessionTimers: [Task<Void, Never>] = []
    var registeredAt: ContinuousClock.Instant?
    /// Why the current connection is closing, when we (or a fatal answer) know better than "closed".
    var closeReason: String?
    /// A fatal answer that ends the client once the connection has closed.
    var pendingExit: ClientExit?
    /// Since when no session has been registered (for ``ClientSettings/giveUpAfter``); `nil` while registered.
    var disconnectedSince: ContinuousClock.Instant? = .now
    var backoff: ReconnectBackoff
    /// The cluster members the last register reply named (`session.servers`).
    var learnedServers: [ServerAddress] = []
    /// Which of ``servers`` the next connection goes to.
    var serverIndex = 0
    /// Dials the server: TCP, TLS when configured, framing. Built once (it holds the TLS context);
    /// a failure to build it stops the client at its first connect.
    let dialer: Result<ServerDialer, any Error>
    var reconnectTimer: Task<Void, Never>?
    var retryTimer: Task<Void, Never>?
    var drainTimer: Task<Void, Never>?

    // MARK: Messages
    var outbox = Outbox()
    var seen: RecentMessageIDs
    /// Set by ``ClientCommand/leave(reason:drainTimeout:)``.
    var leaving: (reason: String, deadline: ContinuousClock.Instant)?
    /// `LIST_CLIENTS` message ids, to recognise an error answer to one.
    var listRequests: Set<String> = []

    // MARK: Files and other calls
    var registeredWaiters: [CheckedContinuation<RegisteredLink, any Error>] = []
    var offers: [String: PendingOffer] = [:]
    var results: [String: ResultSlot] = [:]
    var ends: [String: CheckedContinuation<ServerResponsePayload, any Error>] = [:]

    /// Set when the client must stop; ``run()`` tears down after the input that set it.
    var exit: ClientExit?

    init(connection: ClientConnection) {
        self.connection = connection
        self.settings = connection.settings
        var logger = connection.logger
        logger[metadataKey: "server"] = "\(connection.settings.host):\(connection.settings.port)"
        self.logger = logger
        self.backoff = ReconnectBackoff(initial: connection.settings.backoffInitial, maximum: connection.settings.backoffMax)
        let settings = connection.settings
        self.dialer = Result { try ServerDialer(connectTimeout: settings.connectTimeout, maxFrameSize: settings.maxFrameSize, tls: settings.tls) }
        self.seen = RecentMessageIDs(capacity: connection.settings.rememberedMessageIDs)
    }

    func run() async -> ClientExit {
        var inputs = self.connection.inputs.makeAsyncIterator()
        self.connect()
        while self.exit == nil, let input = await inputs.next() {
            self.handle(input)
        }
        let exit = self.exit ?? .left(unsent: self.outbox.count)
        self.tearDown(exit)
        // Calls that raced with the end: answer them, so no caller waits for ever.
        self.connection.inputSink.finish()
        while let input = await inputs.next() {
            if case .command(let command) = input { Self.fail(command, with: .stopped(exit)) }
        }
        return exit
    }

    func handle(_ input: ClientInput) {
        switch input {
        case .command(let command):
            self.handle(command)
        case .connected(let generation, let link):
            guard generation == self.generation, self.phase == .connecting else {
                link.channel.close(promise: nil)
                return
            }
            self.connected(link)
        case .frame(let generation, let buffer):
            guard generation == self.generation, self.link != nil else { return }
            self.handleFrame(buffer)
        case .closed(let generation, let error):
            guard generation == self.generation, self.phase != .idle else { return }
            self.sessionEnded(reason: self.closeReason ?? error ?? "closed by the server")
        case .refusedByTLS(let generation, let reason):
            guard generation == self.generation, self.phase != .idle else { return }
            self.logger.error("connection refused", metadata: ["reason": "\(reason)"])
            self.pendingExit = .refused(code: nil, message: reason)
            self.sessionEnded(reason: reason)
        case .tick(let generation):
            guard generation == self.generation, self.phase == .registered else { return }
            self.heartbeat()
        case .registerDeadline(let generation):
            guard generation == self.generation, self.phase == .registering else { return }
            self.close(because: "no answer to CLIENT_REGISTER within \(self.settings.registerTimeout)")
        case .unregisterDeadline(let generation):
            guard generation == self.generation, self.phase == .unregistering else { return }
            self.logger.debug("the server did not acknowledge the unregister in time")
            self.stop(.left(unsent: self.outbox.count))
        case .reconnect:
            guard self.phase == .idle else { return }
            self.connect()
        case .retryOutbox:
            self.retryTimer = nil
            self.flushOutbox()
        case .drainDeadline:
            guard self.leaving != nil else { return }
            if self.phase == .registered {
                self.unregister()
            } else if self.phase != .unregistering {
                self.stop(.left(unsent: self.outbox.count))
            }
        }
    }

    func handle(_ command: ClientCommand) {
        switch command {
        case .send(let message):
            self.outbox.append(message)
            self.flushOutbox()
        case .listClients:
            guard self.phase == .registered else {
                self.emit(.serverResponse(ServerResponsePayload(success: false, message: "not connected; try again once registered")))
                return
            }
            let id = Self.newID()
            self.listRequests.insert(id)
            self.write(.listClients(ListClientsPayload()), messageID: id)
        case .leave(let reason, let drainTimeout):
            self.leave(reason: reason, drainTimeout: drainTimeout)
        case .waitRegistered(let continuation):
            if self.phase == .registered, let registered = self.registeredLink {
                continuation.resume(returning: registered)
            } else {
                self.registeredWaiters.append(continuation)
            }
        case .offer(let offer, let continuation):
            self.offer(offer, continuation)
        case .fileResult(let transferID, let continuation):
            self.claimResult(transferID, continuation)
        case .cancelFileResult(let transferID):
            if case .waiting(let continuation) = self.results[transferID] {
                self.results[transferID] = .expected
                continuation.resume(throwing: CancellationError())
            }
        case .end(let continuation):
            guard self.phase == .registered else {
                continuation.resume(throwing: ClientError.connectionLost("not connected"))
                return
            }
            let id = Self.newID()
            self.ends[id] = continuation
            self.write(.end(EndPayload()), messageID: id)
        }
    }

    // MARK: Helpers

    func emit(_ event: ClientEvent) {
        self.connection.eventSink.yield(event)
    }

    /// Writes one envelope on the current connection (nothing when there is none).
    func write(_ body: Envelope.Body, messageID: String? = newID()) {
        guard let link = self.link else { return }
        link.write(self.envelope(body, messageID: messageID).encodedFrame(allocator: link.channel.allocator))
    }

    func envelope(_ body: Envelope.Body, messageID: String?) -> Envelope {
        Envelope(body, senderID: self.parameters?.clientID ?? self.settings.name, timestamp: Date().timeIntervalSince1970, messageID: messageID)
    }

    static func newID() -> String { UUID().uuidString.lowercased() }

    /// Posts `input` after `delay` unless the returned task is cancelled first.
    func timer(after delay: Duration, _ input: ClientInput) -> Task<Void, Never> {
        let sink = self.connection.inputSink
        return Task {
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return }
            sink.yield(input)
        }
    }

    var registeredLink: RegisteredLink? {
        guard let link = self.link, let parameters = self.parameters else { return nil }
        return RegisteredLink(link: link, serverMaxFrameSize: parameters.maxFrameSize)
    }

    /// Ends the client after the current input.
    func stop(_ exit: ClientExit) {
        if self.exit == nil { self.exit = exit }
    }

    private func tearDown(_ exit: ClientExit) {
        self.sessionTimers.forEach { $0.cancel() }
        self.sessionTimers = []
        [self.reconnectTimer, self.retryTimer, self.drainTimer].forEach { $0?.cancel() }
        self.link?.channel.close(promise: nil)
        self.link = nil
        self.phase = .idle
        let error = ClientError.stopped(exit)
        self.registeredWaiters.forEach { $0.resume(throwing: error) }
        self.registeredWaiters = []
        self.failCalls(with: error)
        self.connection.finalExit.withLock { $0 = exit }
        if self.outbox.count > 0 {
            self.logger.debug("stopping with messages the server has not acknowledged", metadata: ["unsent": "\(self.outbox.count)"])
        }
        self.emit(.stopped(exit))
        self.connection.eventSink.finish()
    }

    /// Fails the calls that need the current connection (offers, results being waited for, END).
    func failCalls(with error: ClientError) {
        for offer in self.offers.values { offer.continuation.resume(throwing: error) }
        self.offers = [:]
        for (transferID, slot) in self.results {
            if case .waiting(let continuation) = slot {
                continuation.resume(throwing: error)
                self.results[transferID] = .expected
            }
        }
        for continuation in self.ends.values { continuation.resume(throwing: error) }
        self.ends = [:]
    }

    private static func fail(_ command: ClientCommand, with error: ClientError) {
        switch command {
        case .waitRegistered(let continuation): continuation.resume(throwing: error)
        case .offer(_, let continuation): continuation.resume(throwing: error)
        case .fileResult(_, let continuation): continuation.resume(throwing: error)
        case .end(let continuation): continuation.resume(throwing: error)
        case .send, .listClients, .leave, .cancelFileResult: break
        }
    }
}

@available(*, unavailable)
extension ClientLoop: Sendable {}
