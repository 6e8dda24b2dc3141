import Foundation
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import ServiceLifecycle
import Synchronization
import VigilProtocol

/// The TCP listener agents connect to (port 5001 by default).
///
/// Pipeline per connection: ``addSessionHandlers(to:environment:authenticate:)``. On graceful
/// shutdown it stops accepting, tells the tracker that the coming disconnections are its own
/// doing, and closes every connection.
public final class AgentListener: Service {
    private let environment: SessionEnvironment
    private let group: any EventLoopGroup
    private let serverChannel: any Channel
    private let quiesce: ServerQuiescingHelper
    /// Completed when, after shutdown began, the listener and every connection are closed.
    private let fullyClosed: EventLoopPromise<Void>
    private let shutdownStarted: Atomic<Bool>

    /// Binds the listening socket. Binding happens here, not in `run`, so the caller knows the
    /// port (e.g. after binding port 0) before anything runs.
    /// - Parameter tls: The server's TLS contexts; nil when `tls.enabled` is false (plaintext only).
    public init(environment: SessionEnvironment, group: any EventLoopGroup, tls: TLSContexts? = nil) async throws {
        // Every stored property is set after the one call that can throw: a throw out of a
        // partly initialised class holding an `Atomic` crashes the Swift 6.3 optimiser
        // ("Found outside of lifetime use" on its drop_deinit) in release builds.
        let quiesce = ServerQuiescingHelper(group: group)
        let settings = environment.settings
        let serverChannel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Self.transportSniffer(settings: settings, tls: tls, logger: environment.logger))
                    try AgentListener.addSessionHandlers(to: channel.pipeline.syncOperations, environment: environment)
                }
            }
            .bind(host: settings.agentHost, port: settings.agentPort)
            .get()
        self.environment = environment
        self.group = group
        self.quiesce = quiesce
        self.fullyClosed = group.next().makePromise(of: Void.self)
        self.serverChannel = serverChannel
        self.shutdownStarted = Atomic(false)
    }

    /// The handlers of one agent connection, in order: framing (length-prefixed frames of at most
    /// `agents.max_frame_size`) → ``SessionFrameParser`` → idle detection (`agents.idle_timeout`)
    /// → ``AgentSessionHandler``. A transport layer (TLS, or a sniffer that picks one) goes in
    /// front of the framing, the first handler added here.
    ///
    /// - Parameter authenticate: The key check; `nil` for the environment's authenticator (tests
    ///   on an `EmbeddedChannel` give one that answers on the loop).
    static func addSessionHandlers(
        to pipeline: ChannelPipeline.SynchronousOperations, environment: SessionEnvironment,
        authenticate: AgentSessionHandler.Authenticate? = nil
    ) throws {
        let settings = environment.settings
        try pipeline.addVigilFraming(maxFrameSize: settings.maxFrameSize)
        try pipeline.addHandler(SessionFrameParser())
        try pipeline.addHandler(IdleStateHandler(readTimeout: settings.idleTimeout.timeAmount))
        try pipeline.addHandler(AgentSessionHandler(environment: environment, authenticate: authenticate))
    }

    /// TLS or plaintext by the first byte (PROTOCOL.md §1.1); a plaintext peer that `agents.plaintext`
    /// does not allow gets a fatal `tls_required` SERVER_RESPONSE, in plaintext, then the close.
    private static func transportSniffer(settings: ServerSettings, tls: TLSContexts?, logger: Logger) -> TransportSniffer {
        let closeTimeout = settings.closeTimeout
        return TransportSniffer(
            tls: tls.map { contexts in { contexts.agentContext } }, policy: settings.agentPlaintext,
            handshakeTimeout: settings.tls.handshakeTimeout, logger: logger
        ) { context, message in
            let payload = ServerResponsePayload(success: false, message: message, code: .tlsRequired, inReplyTo: nil, fatal: true)
            var body = Envelope(.serverResponse(payload), senderID: "server", timestamp: Date().timeIntervalSince1970, messageID: UUID().uuidString.lowercased())
                .encodedFrame(allocator: context.channel.allocator)
            var frame = context.channel.allocator.buffer(capacity: 4 + body.readableBytes)
            frame.writeInteger(UInt32(body.readableBytes))
            frame.writeBuffer(&body)
            let channel = context.channel
            context.writeAndFlush(NIOAny(frame)).whenComplete { _ in channel.close(promise: nil) }
            // A peer that does not read must not hold the connection open.
            context.eventLoop.scheduleTask(in: closeTimeout.timeAmount) { channel.close(promise: nil) }
        }
    }

    /// The bound address (its port is the real one when port 0 was asked for).
    public var localAddress: SocketAddress? { self.serverChannel.localAddress }

    public func run() async throws {
        self.environment.logger.info("listening for agents", metadata: ["address": "\(self.localAddress.map(AgentSessionHandler.describe) ?? "?")"])
        // A future's `get()` ignores cancellation, so cancellation must close the listener too.
        await withTaskCancellationOrGracefulShutdownHandler {
            try? await self.fullyClosed.futureResult.get()
        } onCancelOrGracefulShutdown: {
            guard self.shutdownStarted.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
            self.environment.tracker.beginShutdown()
            self.quiesce.initiateShutdown(promise: self.fullyClosed)
        }
    }
}
