import NIOCore

/// The pipeline's end of an SMTP connection: parses the server's bytes into replies and hands
/// them, one at a time, to whoever waits (the client sends one command, then waits: no pipelining).
/// Lives on the channel's event loop only; ``SMTPConnection`` reaches it through `flatSubmit`.
final class SMTPReplyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private var parser = SMTPReplyParser()
    private var ready: CircularBuffer<SMTPReply> = []
    private var waiter: (promise: EventLoopPromise<SMTPReply>, timer: Scheduled<Void>)?
    private var failure: SMTPError?
    private var context: ChannelHandlerContext?

    /// What the current wait is for, so that a lost connection says where it was lost.
    private var stage = "greeting"

    /// Anything received but not yet taken: after a STARTTLS 220 there must be nothing (bytes sent
    /// before the TLS handshake would otherwise be read as if they came through TLS: CVE-2011-0411).
    var hasUnreadInput: Bool { self.parser.hasPartialInput || !self.ready.isEmpty }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        do {
            let replies = try self.parser.feed(buffer.readableBytesView)
            self.ready.append(contentsOf: replies)
            self.hand()
        } catch {
            self.fail(.malformed(error.reason))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.fail(.connection(stage: self.stage, detail: "closed by the server"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(.connection(stage: self.stage, detail: NetworkErrorText.describe(error)))
        context.close(promise: nil)
    }

    /// The next reply, failed with ``SMTPError/timedOut(stage:limit:)`` (and the connection closed)
    /// when none comes within `limit`.
    func nextReply(stage: String, limit: Duration, on eventLoop: any EventLoop) -> EventLoopFuture<SMTPReply> {
        precondition(self.waiter == nil, "one command at a time")
        self.stage = stage
        let promise = eventLoop.makePromise(of: SMTPReply.self)
        if let reply = self.ready.popFirst() {
            promise.succeed(reply)
            return promise.futureResult
        }
        if let failure = self.failure {
            // Say where the caller was when it learnt the connection was gone.
            if case .connection(_, let detail) = failure {
                promise.fail(SMTPError.connection(stage: stage, detail: detail))
            } else {
                promise.fail(failure)
            }
            return promise.futureResult
        }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let timer = eventLoop.scheduleTask(in: TimeAmount(limit)) {
            bound.value.fail(.timedOut(stage: stage, limit: limit))
            bound.value.context?.close(promise: nil)
        }
        self.waiter = (promise, timer)
        return promise.futureResult
    }

    private func hand() {
        guard let waiter = self.waiter, let reply = self.ready.popFirst() else { return }
        self.waiter = nil
        waiter.timer.cancel()
        waiter.promise.succeed(reply)
    }

    private func fail(_ error: SMTPError) {
        if self.failure == nil { self.failure = error }
        guard let waiter = self.waiter else { return }
        self.waiter = nil
        waiter.timer.cancel()
        waiter.promise.fail(self.failure ?? error)
    }
}
