import NIOCore
import NIOTLS

/// Sits behind the TLS handler until the handshake ends, so the dialer can hand back a connection
/// only once it is known to be encrypted and trusted (or fail with the reason).
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let promise: EventLoopPromise<Void>
    private let timeout: Duration
    private var deadline: Scheduled<Void>?
    private var done = false

    var future: EventLoopFuture<Void> { self.promise.futureResult }

    init(promise: EventLoopPromise<Void>, timeout: Duration) {
        self.promise = promise
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let timeout = self.timeout
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.deadline = context.eventLoop.scheduleTask(in: timeout.timeAmount) {
            let (waiter, context) = loopBound.value
            waiter.finish(.failure(TLSFailure.handshake("no TLS handshake within \(timeout)")))
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.finish(.failure(ChannelError.ioOnClosedChannel))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            self.finish(.success(()))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.finish(.failure(error))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.finish(.failure(ChannelError.eof))
        context.fireChannelInactive()
    }

    private func finish(_ result: Result<Void, any Error>) {
        guard !self.done else { return }
        self.done = true
        self.deadline?.cancel()
        self.promise.completeWith(result)
    }
}
