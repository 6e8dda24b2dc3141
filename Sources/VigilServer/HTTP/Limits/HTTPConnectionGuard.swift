import Logging
import NIOCore
import NIOHTTP1

/// First in every HTTP connection's pipeline (it sees raw bytes): enforces the `http.*` limits.
///
/// - At most `http.max_connections` connections: one over it is closed as soon as it is active.
/// - A connection with no request under way is closed after `http.idle_timeout`.
/// - A request head must be complete within `http.header_timeout` of its first byte, and a body
///   must keep to `http.body_timeout` plus one second per `http.body_min_rate` bytes; otherwise
///   the answer is 408 and the connection is closed.
/// - A request the parser refuses is answered 400 (431 for an oversized head) and closed.
///
/// Request and response boundaries come from ``HTTPRequestBoundaries``, which sits after the
/// HTTP decoder. While the server itself is working on a request no deadline runs: only the
/// client's slowness is cut short. After a WebSocket upgrade the stream's own limits apply.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    // Writes pass through untouched (bytes or file regions); only `close` is looked at.
    typealias OutboundIn = Any
    typealias OutboundOut = Any

    private enum Phase {
        /// No request under way: since the connection opened or the last response ended; the
        /// first byte of the next request, once seen, starts the header deadline.
        case awaitingHead(since: NIODeadline, firstByte: NIODeadline?)
        /// Head read; the body (possibly empty) is arriving.
        case readingBody(since: NIODeadline, bytes: Int64)
        /// The request is read and the server is answering: no deadline.
        case responding
        /// A WebSocket now: the stream's own limits apply.
        case upgraded
        /// Refused or timed out: the answer is written, the rest of the input is discarded
        /// until the peer closes or `http.close_linger` passes.
        case closing
    }

    private let limits: HTTPLimits
    private let limiter: HTTPConnectionLimiter
    private let logger: Logger
    private var phase: Phase = .awaitingHead(since: .now(), firstByte: nil)
    private var refusedAtAccept = false
    /// Heads seen in each direction, and their ends: a response is under way while
    /// `responseHeads > responseEnds`; a request waits for its answer while `responseEnds < requestHeads`.
    private var requestHeads = 0
    private var responseHeads = 0
    private var responseEnds = 0
    private var sawFirstHead = false
    /// An answer is written and the output shut: closes asked for by other handlers wait until
    /// the peer has closed or `http.close_linger` is over.
    private var lingering = false
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// ``HTTPRequestBoundaries``' context, right after the decoder (set while it is in the pipeline).
    var afterDecoder: ChannelHandlerContext?

    init(limits: HTTPLimits, limiter: HTTPConnectionLimiter, logger: Logger) {
        self.limits = limits
        self.limiter = limiter
        self.logger = logger
    }

    // MARK: Pipeline events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        guard self.limiter.acquire() else {
            self.refusedAtAccept = true
            if context.channel.isActive { self.refuseAtAccept(context) }
            return
        }
        let limiter = self.limiter
        context.channel.closeFuture.whenComplete { _ in limiter.release() }
        self.enter(.awaitingHead(since: .now(), firstByte: nil))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if self.refusedAtAccept {
            self.refuseAtAccept(context)
            return
        }
        self.enter(.awaitingHead(since: .now(), firstByte: nil))
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.phase {
        case .closing:
            return  // discarded: the answer is already written
        case .awaitingHead(let since, nil):
            self.phase = .awaitingHead(since: since, firstByte: .now())
            self.arm()
        case .readingBody(let since, let bytes):
            self.phase = .readingBody(since: since, bytes: bytes + Int64(self.unwrapInboundIn(data).readableBytes))
        case .awaitingHead, .responding, .upgraded:
            break
        }
        context.fireChannelRead(data)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if self.lingering, mode == .all {
            // The upgrade handler, told that the input is over, closes at once; the connection
            // is closed when the peer has had the answer (a close with unread input would reset it).
            if let promise { context.channel.closeFuture.cascade(to: promise) }
            return
        }
        context.close(mode: mode, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .closing = self.phase, let event = event as? ChannelEvent, event == .inputClosed {
            self.finish(context)  // the peer has read the answer and closed its side
            return
        }
        // Graceful shutdown: Hummingbird closes idle connections once they have had a request; one
        // still waiting for its first is not told (its handler comes with the first head) and
        // would be left open.
        if event is ChannelShouldQuiesceEvent, !self.sawFirstHead, case .awaitingHead = self.phase {
            self.closeQuietly()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: From HTTPRequestBoundaries

    func requestHead() {
        self.sawFirstHead = true
        self.requestHeads += 1
        self.enter(.readingBody(since: .now(), bytes: 0))
    }

    func requestEnd() {
        guard case .readingBody = self.phase else { return }
        // An answer may already be complete (one written before the body was read, such as 413).
        self.enter(self.responseEnds >= self.requestHeads ? .awaitingHead(since: .now(), firstByte: nil) : .responding)
    }

    func responseHead(status: Int) {
        if status == 101 {
            self.enter(.upgraded)
        } else if status >= 200 {
            self.responseHeads += 1
        }
    }

    func responseEnd() {
        self.responseEnds += 1
        if case .responding = self.phase, self.responseEnds >= self.requestHeads {
            self.enter(.awaitingHead(since: .now(), firstByte: nil))
        }
    }

    /// The parser refused the request: answer it (when no other answer is under way) and close.
    func refuse(_ error: HTTPParserError) {
        if case .closing = self.phase { return }
        let (status, reason) = if case .headerOverflow = error { (431, "Request Header Fields Too Large") } else { (400, "Bad Request") }
        self.logger.debug("HTTP request refused by the parser", metadata: ["error": "\(error)", "status": "\(status)"])
        self.answerAndClose(status: status, reason: reason, owned: 0)
    }

    // MARK: Deadlines

    private func enter(_ phase: Phase) {
        if case .closing = self.phase { return }
        if case .upgraded = self.phase { return }
        self.phase = phase
        self.arm()
    }

    private var deadline: NIODeadline? {
        switch self.phase {
        case .awaitingHead(let since, nil):
            return since + TimeAmount(self.limits.idleTimeout)
        case .awaitingHead(_, let firstByte?):
            return firstByte + TimeAmount(self.limits.headerTimeout)
        case .readingBody(let since, let bytes):
            let allowance = Double(bytes) / Double(max(1, self.limits.bodyMinRate))
            return since + TimeAmount(self.limits.bodyTimeout) + .nanoseconds(Int64(min(allowance, 315_360_000) * 1e9))
        case .responding, .upgraded, .closing:
            return nil
        }
    }

    /// (Re)schedules the one timer at the current deadline. When it fires the deadline is computed
    /// again (a body's deadline moves as bytes arrive), so arriving bytes cost no rescheduling.
    private func arm() {
        self.timer?.cancel()
        self.timer = nil
        guard let context = self.context, let deadline = self.deadline else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(deadline: deadline) { handler.value.deadlineReached() }
    }

    private func deadlineReached() {
        self.timer = nil
        guard let deadline = self.deadline else { return }
        guard NIODeadline.now() >= deadline else { return self.arm() }
        switch self.phase {
        case .awaitingHead(_, nil):
            self.logger.debug("HTTP connection closed: idle", metadata: ["http_idle_timeout": "\(self.limits.idleTimeout.compactDescription)"])
            self.closeQuietly()
        case .awaitingHead:
            self.logger.debug("HTTP request timed out: head", metadata: ["http_header_timeout": "\(self.limits.headerTimeout.compactDescription)"])
            self.answerAndClose(status: 408, reason: "Request Timeout", owned: 0)
        default:
            self.logger.debug("HTTP request timed out: body", metadata: ["http_body_timeout": "\(self.limits.bodyTimeout.compactDescription)"])
            self.answerAndClose(status: 408, reason: "Request Timeout", owned: 1)
        }
    }

    // MARK: Closing

    /// Closes a connection that is waiting for a request.
    private func closeQuietly() {
        guard let context = self.context else { return }
        self.phase = .closing
        self.finish(context)
    }

    private func refuseAtAccept(_ context: ChannelHandlerContext) {
        self.phase = .closing
        self.finish(context)
    }

    /// The final close. Before the first request's head the WebSocket upgrade handler is still
    /// waiting for it: telling it the input is closed lets it end its wait as an ordinary close
    /// (it closes the channel itself) instead of reporting an error for every such connection.
    private func finish(_ context: ChannelHandlerContext) {
        self.lingering = false
        self.timer?.cancel()
        self.timer = nil
        if !self.sawFirstHead {
            self.sawFirstHead = true
            // From after the decoder: a decoder that has refused the input passes no more events on.
            (self.afterDecoder ?? context).fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        context.close(promise: nil)
    }

    /// Writes a minimal answer straight to the socket (unless another answer is under way or
    /// owed to an earlier request: answers must not be interleaved or misattributed), shuts the
    /// output so the peer sees the end, then discards input until the peer closes or
    /// `http.close_linger` passes. Closing at once with unread input would send a reset, which can
    /// destroy the answer before the peer reads it.
    ///
    /// - Parameter owned: Requests counted in `requestHeads` that this answer is for (1 for a
    ///   body that timed out, 0 for a head that never completed or did not parse).
    private func answerAndClose(status: Int, reason: String, owned: Int) {
        guard let context = self.context else { return }
        let mayAnswer = self.responseHeads == self.responseEnds && self.requestHeads - self.responseEnds == owned
        self.phase = .closing
        self.timer?.cancel()
        guard mayAnswer, context.channel.isActive else { return self.finish(context) }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.lingering = true
        self.timer = context.eventLoop.scheduleTask(in: TimeAmount(self.limits.closeLinger)) {
            handler.value.lingerEnded()
        }
        let text = "HTTP/1.1 \(status) \(reason)\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        context.writeAndFlush(NIOAny(ByteBuffer(string: text))).whenComplete { _ in
            handler.value.shutOutput()
        }
    }

    private func shutOutput() {
        guard let context = self.context else { return }
        let shut = context.eventLoop.makePromise(of: Void.self)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        shut.futureResult.whenFailure { _ in handler.value.lingerEnded() }
        context.close(mode: .output, promise: shut)
        // Before the first request the upgrade handler still waits for a head: now that the
        // answer is out, let it end that wait as an ordinary close (it would report an error for
        // every refused request otherwise). Its close waits for the linger (see `close`).
        if !self.sawFirstHead, let afterDecoder = self.afterDecoder {
            self.sawFirstHead = true
            afterDecoder.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
    }

    private func lingerEnded() {
        guard let context = self.context else { return }
        self.finish(context)
    }
}
