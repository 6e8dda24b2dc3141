import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import VigilProtocol

/// The one way every Vigil client (`vigil-agent`, `vigil chat`/`send`/`send-file`, `vigil-bench`)
/// reaches a server's agent port: TCP with a connect timeout, TLS pinned to the server's CA when
/// asked, then Vigil's framing. A connection is handed back only after the TLS handshake (and the
/// pin check) succeeded, so a refusal surfaces as a ``TLSFailure`` from the dial, not later as a
/// closed stream.
public struct ServerDialer: Sendable {
    /// TCP connect timeout per attempt.
    public var connectTimeout: Duration
    /// The largest frame accepted from the server, in bytes.
    public var maxFrameSize: Int
    /// TCP keep-alive probes on the connection (on for long-lived clients).
    public var keepAlive = true
    /// The local address to connect from (`vigil-bench` spreads a fleet over source addresses).
    public var sourceAddress: SocketAddress?
    /// `nil`: plaintext.
    public let tls: ClientTLS?
    /// Built once per dialer: loading a configuration into BoringSSL is not free.
    private let sslContext: NIOSSLContext?

    public init(connectTimeout: Duration = .seconds(5), maxFrameSize: Int = 1 << 20, tls: ClientTLS? = nil) throws {
        self.connectTimeout = connectTimeout
        self.maxFrameSize = maxFrameSize
        self.tls = tls
        if let tls {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = tls.minimumVersion == .tls13 ? .tlsv13 : .tlsv12
            // The custom verification callback replaces BoringSSL's checks entirely; no system
            // store is loaded, only the pinned CA counts.
            configuration.trustRoots = .certificates([])
            configuration.certificateVerification = .fullVerification
            self.sslContext = try NIOSSLContext(configuration: configuration)
        } else {
            self.sslContext = nil
        }
    }

    /// Dials `server` and wraps the framed connection for async use: each inbound element is one
    /// frame's payload, each outbound `ByteBuffer` is sent as one frame.
    public func connect(to server: ServerAddress, group: any EventLoopGroup) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await self.connect(to: server, group: group) { channel in
            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        } discard: { unused in
            // An async channel must be finished, or its writer traps when released.
            try? await unused.executeThenClose { _, _ in }
        }
    }

    /// Dials `server`; `addHandlers` then adds the caller's handlers behind the framing (inbound
    /// `ByteBuffer` frames, outbound `ByteBuffer` payloads). Runs on the channel's event loop.
    public func connect(
        to server: ServerAddress,
        group: any EventLoopGroup,
        addHandlers: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    ) async throws -> any Channel {
        try await self.connect(to: server, group: group) { channel in
            try addHandlers(channel.pipeline.syncOperations)
            return channel
        } discard: { _ in }
    }

    /// Dials `server`; `initialize` runs on the channel's event loop once TLS and the framing are in
    /// the pipeline, and its result is returned after the TLS handshake succeeded. When the handshake
    /// fails, `discard` releases what `initialize` made.
    private func connect<Output: Sendable>(
        to server: ServerAddress,
        group: any EventLoopGroup,
        initialize: @escaping @Sendable (any Channel) throws -> Output,
        discard: (Output) async -> Void
    ) async throws -> Output {
        var bootstrap = ClientBootstrap(group: group)
            .connectTimeout(self.connectTimeout.timeAmount)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
        if self.keepAlive {
            bootstrap = bootstrap.channelOption(.socketOption(.so_keepalive), value: 1)
        }
        if let source = self.sourceAddress {
            bootstrap = bootstrap.bind(to: source)
        }
        let maxFrameSize = self.maxFrameSize
        let tls = self.tls.flatMap { tls in self.sslContext.map { (tls, $0) } }
        let verification = tls.map { PinnedCAVerification(trust: $0.0.trust, host: server.host) }
        let (output, channel, handshake) = try await bootstrap.connect(host: server.host, port: server.port) { channel in
            channel.eventLoop.makeCompletedFuture {
                var handshake = channel.eventLoop.makeSucceededVoidFuture()
                if let tls, let verification {
                    let (options, context) = tls
                    // SNI for DNS names only: an IP address literal in SNI is invalid (RFC 6066).
                    let sni = IPAddressText.bytes(server.host) == nil ? server.host : nil
                    let handler = try NIOSSLClientHandler(context: context, serverHostname: sni) { chain, promise in
                        verification.verify(chain, promise: promise)
                    }
                    let waiter = TLSHandshakeWaiter(promise: channel.eventLoop.makePromise(), timeout: options.handshakeTimeout)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(waiter)
                    handshake = waiter.future
                }
                try channel.pipeline.syncOperations.addVigilFraming(maxFrameSize: maxFrameSize)
                return (try initialize(channel), channel, handshake)
            }
        }
        do {
            try await handshake.get()
        } catch {
            channel.close(promise: nil)
            await discard(output)
            throw verification?.failure ?? Self.describe(handshakeError: error, minimum: self.tls?.minimumVersion ?? .tls13)
        }
        return output
    }

    /// NIOSSL's errors carry BoringSSL's reason names; turn the common ones into sentences.
    static func describe(handshakeError error: any Error, minimum: ClientTLS.MinimumVersion) -> any Error {
        if error is TLSFailure { return error }
        let text = "\(error)"
        if text.contains("UNSUPPORTED_PROTOCOL") || text.contains("PROTOCOL_VERSION") {
            return TLSFailure.versionTooOld(minimum: minimum)
        }
        if text.contains("WRONG_VERSION_NUMBER") {
            return TLSFailure.handshake("the server did not answer with TLS (does it have TLS enabled?)")
        }
        if let channelError = error as? ChannelError, channelError == .eof || channelError == .ioOnClosedChannel {
            return TLSFailure.handshake("the server closed the connection during the handshake")
        }
        return TLSFailure.handshake(text)
    }
}

/// One connection's verification: runs ``PinnedCAVerifier`` off the event loop and keeps the
/// precise reason of a refusal (NIOSSL itself only reports "certificate verify failed").
final class PinnedCAVerification: Sendable {
    let trust: TLSTrust
    let host: String
    private let outcome = Mutex<TLSFailure?>(nil)

    init(trust: TLSTrust, host: String) {
        self.trust = trust
        self.host = host
    }

    var failure: TLSFailure? { self.outcome.withLock { $0 } }

    func verify(_ chain: [NIOSSLCertificate], promise: EventLoopPromise<NIOSSLVerificationResult>) {
        let der: [[UInt8]]
        do {
            der = try chain.map { try $0.toDERBytes() }
        } catch {
            self.outcome.withLock { $0 = .handshake("the server's certificate cannot be read: \(error)") }
            promise.succeed(.failed)
            return
        }
        let (trust, host) = (self.trust, self.host)
        Task {
            let failure = await PinnedCAVerifier.verify(chain: der, trust: trust, host: host)
            self.outcome.withLock { $0 = failure }
            promise.succeed(failure == nil ? .certificateVerified : .failed)
        }
    }
}
