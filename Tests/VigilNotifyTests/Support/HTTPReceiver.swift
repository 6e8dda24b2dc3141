import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A local HTTP/1.1 server standing in for a webhook receiver: records every request, then answers
/// as told (a status and body, or never).
final class HTTPReceiver: Sendable {
    struct Request: Sendable {
        var method: String
        var uri: String
        var headers: HTTPHeaders
        var body: [UInt8]

        func header(_ name: String) -> String? { self.headers.first(name: name) }
    }

    enum Behavior: Sendable {
        case answer(status: Int, body: String)
        /// Accept the request and never answer (the channel's timeout must end it).
        case hang
    }

    private let state = Mutex<(requests: [Request], behavior: Behavior)>(([], .answer(status: 200, body: "ok")))
    private let channel: any Channel
    let port: Int

    var requests: [Request] { self.state.withLock { $0.requests } }

    var behavior: Behavior {
        get { self.state.withLock { $0.behavior } }
        set { self.state.withLock { $0.behavior = newValue } }
    }

    let scheme: String
    var baseURL: String { "\(self.scheme)://127.0.0.1:\(self.port)" }

    /// - Parameter tls: Serve HTTPS with this certificate (for `localhost` and 127.0.0.1).
    init(behavior: Behavior = .answer(status: 200, body: "ok"), tls: TestCertificates? = nil) async throws {
        let box = Box()
        let sslContext = try tls.map { certificates in
            try NIOSSLContext(configuration: .makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificates.certificateFile.path).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.keyFile.path, format: .pem))
            ))
        }
        self.scheme = tls == nil ? "http" : "https"
        self.channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(RecordingHandler(receiver: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.port = self.channel.localAddress?.port ?? 0
        box.receiver.withLock { $0 = self }
        self.behavior = behavior
    }

    /// Breaks the receiver ↔ handler cycle without a strong reference from the handlers.
    final class Box: Sendable {
        let receiver = Mutex<HTTPReceiver?>(nil)
    }

    fileprivate func record(_ request: Request) -> Behavior {
        self.state.withLock {
            $0.requests.append(request)
            return $0.behavior
        }
    }

    func stop() async {
        try? await self.channel.close()
    }
}

private final class RecordingHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let receiver: HTTPReceiver.Box
    var head: HTTPRequestHead?
    var body: [UInt8] = []

    init(receiver: HTTPReceiver.Box) { self.receiver = receiver }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = []
        case .body(let buffer):
            self.body += buffer.readableBytesView
        case .end:
            guard let head = self.head, let receiver = self.receiver.receiver.withLock({ $0 }) else { return }
            let behavior = receiver.record(.init(method: "\(head.method)", uri: head.uri, headers: head.headers, body: self.body))
            guard case .answer(let status, let text) = behavior else { return }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "\(text.utf8.count)")
            headers.add(name: "Content-Type", value: "text/plain")
            context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .init(statusCode: status), headers: headers))), promise: nil)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
