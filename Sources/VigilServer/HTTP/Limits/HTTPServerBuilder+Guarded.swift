import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Foundation
import Logging
import NIOCore

extension HTTPServerBuilder {
    /// HTTP/1.1 with the WebSocket upgrade (`GET /api/stream`), behind the `http.*` limits.
    ///
    /// - Parameters:
    ///   - router: Answers plain requests (passed to `Application` too) and decides upgrades.
    ///   - limiter: Counts the open connections against `http.max_connections`.
    static func guardedHTTP1WebSocketUpgrade(
        router: Router<VigilRequestContext>, settings: ServerSettings, limiter: HTTPConnectionLimiter, tls: TLSContexts?, logger: Logger
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
        let transport = Self.transportSniffer(settings: settings, tls: tls, logger: logger)
        return HTTPServerBuilder { responder in
            GuardedHTTPChannel(
                inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder, configuration: configuration),
                limits: limits, limiter: limiter, logger: logger, transport: transport
            )
        }
    }

    /// HTTPS or plain HTTP by the first byte; plain HTTP from where `http.plaintext` does not allow
    /// it is answered 400 in plain HTTP (as nginx answers a plain request to an HTTPS port) and closed.
    private static func transportSniffer(settings: ServerSettings, tls: TLSContexts?, logger: Logger) -> (@Sendable () -> TransportSniffer)? {
        guard let tls else { return nil }
        let policy = settings.httpPlaintext
        let handshakeTimeout = settings.tls.handshakeTimeout
        let closeTimeout = settings.closeTimeout
        return {
            TransportSniffer(tls: { tls.httpContext }, policy: policy, handshakeTimeout: handshakeTimeout, logger: logger) { context, message in
                let encoded = (try? JSONEncoder().encode(["error": "tls_required", "detail": message])) ?? Data()
                let body = String(decoding: encoded, as: UTF8.self) + "\n"
                let head = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
                let channel = context.channel
                context.writeAndFlush(NIOAny(channel.allocator.buffer(string: head + body))).whenComplete { _ in channel.close(promise: nil) }
                context.eventLoop.scheduleTask(in: closeTimeout.timeAmount) { channel.close(promise: nil) }
            }
        }
    }
}
