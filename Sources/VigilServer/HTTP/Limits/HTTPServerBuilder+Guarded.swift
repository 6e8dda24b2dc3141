import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging

extension HTTPServerBuilder {
    /// HTTP/1.1 with the WebSocket upgrade (`GET /api/stream`), behind the `http.*` limits.
    ///
    /// - Parameters:
    ///   - router: Answers plain requests (passed to `Application` too) and decides upgrades.
    ///   - limiter: Counts the open connections against `http.max_connections`.
    static func guardedHTTP1WebSocketUpgrade(
        router: Router<VigilRequestContext>, settings: ServerSettings, limiter: HTTPConnectionLimiter, logger: Logger
    ) -> HTTPServerBuilder {
        let webSocketResponder = router.buildResponder()
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: settings.http.maxHeaderBytes, maxHeaderListSize: settings.http.maxHeaderBytes
        )
        let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(httpDecoderConfiguration: decoder),
            ws: .init(maxFrameSize: settings.stream.maxMessageSize, closeTimeout: settings.stream.closeTimeout)
        )
        let limits = settings.http
        return HTTPServerBuilder { responder in
            GuardedHTTPChannel(
                inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder, configuration: configuration),
                limits: limits, limiter: limiter, logger: logger
            )
        }
    }
}
