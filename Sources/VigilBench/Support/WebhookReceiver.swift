import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A webhook receiver on loopback for `vigil-bench alerts`: answers every POST 200 and records,
/// for each firing `host_down` alert in it, when it arrived and when the DOWN happened.
final class WebhookReceiver: Sendable {
    struct Arrival: Sendable {
        var hostname: String
        /// The DOWN event's time, as the notification says (`starts_at`).
        var downAt: Date
        var receivedAt: Date
        var deliveryID: String?
    }

    private let arrivals = Mutex<[Arrival]>([])
    private let channel: any Channel

    var received: [Arrival] { self.arrivals.withLock { $0 } }
    var port: Int { self.channel.localAddress?.port ?? 0 }

    private init(channel: any Channel) { self.channel = channel }

    static func start(group: any EventLoopGroup) async throws -> WebhookReceiver {
        let box = Mutex<WebhookReceiver?>(nil)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler { body, deliveryID in box.withLock { $0 }?.record(body, deliveryID: deliveryID) })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let receiver = WebhookReceiver(channel: channel)
        box.withLock { $0 = receiver }
        return receiver
    }

    func close() async { try? await self.channel.close() }

    private func record(_ body: ByteBuffer, deliveryID: String?) {
        let now = Date()
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let alerts = object["alerts"] as? [[String: Any]] else { return }
        var found: [Arrival] = []
        for alert in alerts where alert["rule"] as? String == "host_down" && alert["status"] as? String == "firing" {
            guard let host = alert["hostname"] as? String, let text = alert["starts_at"] as? String, let start = Self.date(text) else { continue }
            found.append(Arrival(hostname: host, downAt: start, receivedAt: now, deliveryID: deliveryID))
        }
        if !found.isEmpty { self.arrivals.withLock { $0 += found } }
    }

    static func date(_ text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) ?? (try? Date(text, strategy: .iso8601))
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {  // one channel's handler, on its loop
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let onBody: @Sendable (ByteBuffer, String?) -> Void
        var body = ByteBuffer()
        var deliveryID: String?
        var keepAlive = true

        init(onBody: @escaping @Sendable (ByteBuffer, String?) -> Void) { self.onBody = onBody }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch self.unwrapInboundIn(data) {
            case .head(let head):
                self.body.clear()
                self.deliveryID = head.headers.first(name: "X-Vigil-Delivery")
                self.keepAlive = head.isKeepAlive
            case .body(var part):
                self.body.writeBuffer(&part)
            case .end:
                self.onBody(self.body, self.deliveryID)
                var headers = HTTPHeaders([("Content-Length", "0")])
                if !self.keepAlive { headers.add(name: "Connection", value: "close") }
                context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                let keepAlive = self.keepAlive
                context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in if !keepAlive { context.close(promise: nil) } }
            }
        }
    }
}
