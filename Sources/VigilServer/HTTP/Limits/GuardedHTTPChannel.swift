import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Wraps Hummingbird's HTTP child channel (here the one with the WebSocket upgrade) to put the
/// `http.*` limits in front of it: ``HTTPConnectionGuard`` first in the pipeline, where it sees
/// every connection from accept and every byte, and ``HTTPRequestBoundaries`` right after the HTTP
/// decoder. (Hummingbird's own `additionalChannelHandlers` are added only once the first request's
/// head has been read, too late for a head that never completes.)
struct GuardedHTTPChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value

    let inner: Inner
    let limits: HTTPLimits
    let limiter: HTTPConnectionLimiter
    let logger: Logger
    /// Makes each connection's TLS-or-plaintext decision (``TransportSniffer``); nil: plaintext only.
    let transport: (@Sendable () -> TransportSniffer)?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let connectionGuard = HTTPConnectionGuard(limits: self.limits, limiter: self.limiter, logger: self.logger)
        do {
            try channel.pipeline.syncOperations.addHandler(connectionGuard, position: .first)
            if let transport = self.transport {
                // After the guard, which keeps its deadlines over the encrypted bytes too.
                try channel.pipeline.syncOperations.addHandler(transport(), position: .after(connectionGuard))
            }
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let bound = NIOLoopBound(connectionGuard, eventLoop: channel.eventLoop)
        return self.inner.setup(channel: channel, logger: logger).map { value in
            // Never fails the setup: a failed child channel is reported as an error on the
            // listening channel. (The lookup fails only when the guard has already closed it.)
            let pipeline = channel.pipeline.syncOperations
            if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
                try? pipeline.addHandler(HTTPRequestBoundaries(connectionGuard: bound.value), position: .after(decoder))
            }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await self.inner.handle(value: value, logger: logger)
    }
}
