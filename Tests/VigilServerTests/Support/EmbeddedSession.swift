import Foundation
import Logging
import NIOCore
import NIOEmbedded
import VigilProtocol
import VigilStore
@testable import VigilServer

/// An agent session on an `EmbeddedChannel`, as swift-nio tests its handlers: the listener's own
/// handlers (``AgentListener/addSessionHandlers(to:environment:authenticate:)``) over an in-memory
/// environment, a key check the test answers, and time the test moves. Use it from synchronous
/// tests only: the embedded loop belongs to the thread that made it.
final class EmbeddedSession {
    /// Key checks asked for and not answered yet, oldest first.
    final class KeyChecks {
        var pending: [(register: RegisterPayload, promise: EventLoopPromise<AuthenticatedClient>)] = []
    }

    let loop: EmbeddedEventLoop
    let channel: EmbeddedChannel
    let environment: SessionEnvironment
    let logs: LogCapture
    let keyChecks = KeyChecks()
    private var received = ByteBuffer()

    init(_ configure: (inout ServerSettings) -> Void = { _ in }) throws {
        var settings = ServerSettings()
        settings.storage = .memory
        settings.openEnrollment = true
        configure(&settings)
        let logs = LogCapture()
        let logger = logs.logger
        let store = try SQLiteStore(inMemory: ())
        let (_, updates) = AsyncStream<LivenessUpdate>.makeStream()
        let tracker = LivenessTracker(policy: LivenessPolicy(settings: settings), updates: updates)
        let latest = LatestMetrics()
        let live = LiveHub(settings: settings.stream, tracker: tracker, latest: latest, logger: logger)
        self.environment = SessionEnvironment(
            settings: settings, serverID: "test-server", tracker: tracker,
            authenticator: AgentAuthenticator(store: store, openEnrollment: true),
            metrics: MetricsIngestor(settings: settings, latest: latest, live: live, logger: logger),
            messages: MessageService(store: store, settings: settings, logger: logger, live: live),
            files: FileService(store: store, settings: settings, logger: logger), logger: logger
        )
        self.logs = logs
        self.loop = EmbeddedEventLoop()
        self.channel = EmbeddedChannel(loop: self.loop)
        let checks = self.keyChecks
        try AgentListener.addSessionHandlers(to: self.channel.pipeline.syncOperations, environment: self.environment) { register, loop in
            let promise = loop.makePromise(of: AuthenticatedClient.self)
            checks.pending.append((register, promise))
            return promise.futureResult
        }
    }

    /// Connects the channel (the session counts it in and arms its handshake timer).
    func connect() {
        self.channel.connect(to: try! SocketAddress(ipAddress: "192.0.2.7", port: 40_000), promise: nil)
    }

    /// Sends one envelope as a frame.
    func send(_ envelope: Envelope) throws {
        try self.sendPayload(envelope.encodedFrame())
    }

    /// Sends one frame with this payload.
    func sendPayload(_ payload: ByteBuffer) throws {
        var frame = ByteBuffer()
        frame.writeInteger(UInt32(payload.readableBytes))
        frame.writeImmutableBuffer(payload)
        try self.channel.writeInbound(frame)
    }

    /// Answers the oldest key check.
    func answerKeyCheck(_ result: Result<AuthenticatedClient, any Error>) {
        guard !self.keyChecks.pending.isEmpty else { return }
        let check = self.keyChecks.pending.removeFirst()
        check.promise.completeWith(result)
    }

    /// The frames the server wrote so far and not read yet, decoded.
    func frames() throws -> [Envelope] {
        while let buffer = try self.channel.readOutbound(as: ByteBuffer.self) {
            self.received.writeImmutableBuffer(buffer)
        }
        var envelopes: [Envelope] = []
        while let length = self.received.getInteger(at: self.received.readerIndex, as: UInt32.self), self.received.readableBytes >= 4 + Int(length) {
            self.received.moveReaderIndex(forwardBy: 4)
            let payload = self.received.readSlice(length: Int(length))!
            envelopes.append(try Envelope.decode(jsonFrame: payload))
        }
        return envelopes
    }

    /// The `SERVER_RESPONSE`s among `frames()`.
    func responses() throws -> [ServerResponsePayload] {
        try self.frames().compactMap { envelope in
            if case .serverResponse(let response) = envelope.body { return response }
            return nil
        }
    }

    /// Registers (open enrollment) as `name`, answering the key check with `keyID`.
    @discardableResult
    func register(_ name: String = "web1", keyID: String? = nil, version: Int = ProtocolVersion.current) throws -> ServerResponsePayload? {
        self.connect()
        if version == ProtocolVersion.legacy {
            // A version-0 register: an empty payload, the name in sender_id (PROTOCOL.md §13).
            try self.sendPayload(ByteBuffer(string: #"{"type":"CLIENT_REGISTER","sender_id":"\#(name)","payload":{},"message_id":"reg"}"#))
        } else {
            try self.send(Envelope(.clientRegister(RegisterPayload(key: nil, protocolVersion: version, hostname: name)), messageID: "reg"))
        }
        self.answerKeyCheck(.success(AuthenticatedClient(hostname: name, keyID: keyID)))
        return try self.responses().first
    }

    /// Closes what is open and runs or cancels every scheduled task (an embedded loop must not be
    /// freed with tasks left).
    func finish() {
        for check in self.keyChecks.pending { check.promise.fail(ChannelError.ioOnClosedChannel) }
        self.keyChecks.pending.removeAll()
        _ = try? self.channel.finish(acceptAlreadyClosed: true)
        try? self.loop.syncShutdownGracefully()
    }
}
