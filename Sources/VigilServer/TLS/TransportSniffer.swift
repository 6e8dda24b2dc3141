import Logging
import NIOCore
import NIOSSL

/// The first handler of a connection on a port that speaks both TLS and plaintext: it looks at the
/// first byte and decides.
///
/// A TLS connection starts with a handshake record (content type 22, `0x16`). A Vigil frame starts
/// with the high byte of its length, which is 0 for every frame up to 16 MiB; an HTTP request
/// starts with a method's letter. So one byte tells them apart, and no client has to say which it
/// speaks. TLS gets the current server context and a handshake deadline; plaintext passes when the
/// policy allows the peer and is otherwise answered by `refuse` (which closes).
final class TransportSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// TLS handshake record content type (RFC 8446 §5.1).
    static let handshakeRecord: UInt8 = 0x16

    private let tls: (() -> NIOSSLContext)?
    private let policy: PlaintextPolicy
    private let handshakeTimeout: Duration
    private let refuse: (ChannelHandlerContext, String) -> Void
    private let logger: Logger
    private var decided = false

    /// - Parameters:
    ///   - tls: The context for a new TLS connection; nil when TLS is off (plaintext only).
    ///   - refuse: Answers a plaintext peer the policy does not allow, in the port's own protocol, and closes.
    init(tls: (() -> NIOSSLContext)?, policy: PlaintextPolicy, handshakeTimeout: Duration, logger: Logger, refuse: @escaping (ChannelHandlerContext, String) -> Void) {
        self.tls = tls
        self.policy = policy
        self.handshakeTimeout = handshakeTimeout
        self.logger = logger
        self.refuse = refuse
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.decided else {
            context.fireChannelRead(data)
            return
        }
        let buffer = self.unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
        self.decided = true
        let peer = context.remoteAddress.map(AgentSessionHandler.describe) ?? "?"
        if first == Self.handshakeRecord {
            guard let tls = self.tls else {
                self.logger.notice("TLS ClientHello on a plaintext listener (tls.enabled is false); closing", metadata: ["peer": "\(peer)"])
                context.close(promise: nil)
                return
            }
            do {
                let sync = context.pipeline.syncOperations
                let deadline = TLSHandshakeDeadline(timeout: self.handshakeTimeout, logger: self.logger)
                try sync.addHandler(deadline, position: .after(self))
                try sync.addHandler(NIOSSLServerHandler(context: tls()), position: .after(self))
            } catch {
                context.close(promise: nil)
                return
            }
        } else if self.tls != nil, !self.policy.allows(context.remoteAddress) {
            self.logger.notice("plaintext connection refused: TLS is required from this address", metadata: ["peer": "\(peer)", "plaintext_policy": "\(self.policy)"])
            self.refuse(context, "this server requires TLS from \(peer) (plaintext is allowed only from \(self.policy == .never ? "nowhere" : self.policy.description)); connect with TLS and the server's CA (an enrollment token or --ca)")
            return
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

@available(*, unavailable)
extension TransportSniffer: Sendable {}
