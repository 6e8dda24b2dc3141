import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// Closes a connection whose TLS handshake has not finished within `tls.handshake_timeout` of its
/// first byte (a ClientHello then silence must not hold a connection and its memory), then steps
/// out of the pipeline once the handshake is done.
final class TLSHandshakeDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let timeout: Duration
    private let logger: Logger
    private var timer: Scheduled<Void>?

    init(timeout: Duration, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let timeout = self.timeout
        let logger = self.logger
        let peer = context.remoteAddress.map(AgentSessionHandler.describe) ?? "?"
        let channel = context.channel
        self.timer = context.eventLoop.scheduleTask(in: timeout.timeAmount) {
            logger.notice("TLS handshake not finished in time; closing", metadata: ["peer": "\(peer)", "timeout": "\(timeout.compactDescription)"])
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timer?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            self.timer?.cancel()
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A failed handshake (wrong version, bad record) is the peer's problem: one line, then close.
        if error is NIOSSLError || error is BoringSSLError {
            self.logger.info("TLS handshake failed", metadata: ["peer": "\(context.remoteAddress.map(AgentSessionHandler.describe) ?? "?")", "error": "\(error)"])
            context.close(promise: nil)
            return
        }
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable)
extension TLSHandshakeDeadline: Sendable {}
