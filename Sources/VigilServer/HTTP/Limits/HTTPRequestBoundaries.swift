import NIOCore
import NIOHTTP1

/// Sits right after the HTTP decoder and tells the connection's ``HTTPConnectionGuard`` where
/// requests and responses begin and end, and when the parser refuses a request.
///
/// The parser's refusal is handled here, not passed on: before the first request the WebSocket
/// upgrade handler would only fail its setup and leave the connection open without an answer.
/// It removes itself when the connection becomes a WebSocket (it only understands HTTP parts).
final class HTTPRequestBoundaries: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let connectionGuard: HTTPConnectionGuard
    /// A WebSocket upgrade request has been read: the upgrade handler may now remove the decoder,
    /// which passes on the bytes it holds as they are (not as HTTP parts), so input is passed on
    /// untouched from here. Either the connection is upgraded, or Hummingbird answers and closes it.
    private var upgradeRequested = false
    private var upgradeRequestRead = false
    /// The 101 has been written: output is WebSocket frames from the next flush on, when this
    /// handler leaves the pipeline.
    private var upgraded = false

    init(connectionGuard: HTTPConnectionGuard) {
        self.connectionGuard = connectionGuard
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.connectionGuard.afterDecoder = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.connectionGuard.afterDecoder = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if self.upgradeRequestRead {
            context.fireChannelRead(data)
            return
        }
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.connectionGuard.requestHead()
            self.upgradeRequested = head.headers["upgrade"].contains { $0.lowercased().contains("websocket") }
        case .body:
            break
        case .end:
            self.connectionGuard.requestEnd()
            self.upgradeRequestRead = self.upgradeRequested
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if self.upgraded {
            context.write(data, promise: promise)
            return
        }
        switch Self.unwrapOutboundIn(data) {
        case .head(let head):
            self.connectionGuard.responseHead(status: Int(head.status.code))
            if head.status == .switchingProtocols { self.upgraded = true }
        case .body:
            break
        case .end:
            self.connectionGuard.responseEnd()
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        // Not in `write`: the flush of the upgrade handler's `writeAndFlush` would be lost.
        if self.upgraded { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let error as HTTPParserError:
            self.connectionGuard.refuse(error)
        case ByteToMessageDecoderError.dataReceivedInErrorState(let error as HTTPParserError, _):
            self.connectionGuard.refuse(error)  // more input after the refusal: already answered
        default:
            context.fireErrorCaught(error)
        }
    }
}
