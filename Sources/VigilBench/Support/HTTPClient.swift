import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One answer, with the time it took as seen on the connection's event loop: from the moment the
/// request is written to the socket to the moment the last byte of the answer is read (so task
/// hops of the caller are not counted).
struct HTTPAnswer: Sendable {
    var status: Int
    var body: ByteBuffer
    var nanoseconds: Int64

    var bytes: Int { self.body.readableBytes }
    var data: Data { Data(self.body.readableBytesView) }
}

/// A minimal keep-alive HTTP/1.1 client on one connection: requests go out one at a time, and
/// each waits for its answer (no pipelining), like a dashboard's single fetch loop.
final class HTTPClient: Sendable {
    let host: String
    let port: Int
    private let channel: any Channel
    private let collector: NIOLoopBound<AnswerCollector>
    /// The access token sent as `Authorization: Bearer` (every route but health needs one).
    private let token = Mutex<String?>(nil)

    /// A user to sign in as.
    struct Credentials: Sendable {
        var name: String
        var password: String
        /// The first admin of every server ``ServerProcess`` starts.
        static let benchAdmin = Credentials(name: "admin", password: ServerProcess.adminPassword)
    }

    /// Connects and, unless `credentials` is `nil`, signs in (`POST /api/auth/login`).
    static func connect(group: any EventLoopGroup, host: String = "127.0.0.1", port: Int, timeout: Duration = .seconds(10), credentials: Credentials? = .benchAdmin) async throws -> HTTPClient {
        let client = try await Self.open(group: group, host: host, port: port, timeout: timeout)
        if let credentials { try await client.signIn(credentials) }
        return client
    }

    private static func open(group: any EventLoopGroup, host: String, port: Int, timeout: Duration) async throws -> HTTPClient {
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(timeout.timeAmount)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(AnswerCollector())
                }
            }
            .connect(host: host, port: port)
            .get()
        let collector = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: AnswerCollector.self), eventLoop: channel.eventLoop)
        }.get()
        return HTTPClient(host: host, port: port, channel: channel, collector: collector)
    }

    private init(host: String, port: Int, channel: any Channel, collector: NIOLoopBound<AnswerCollector>) {
        self.host = host
        self.port = port
        self.channel = channel
        self.collector = collector
    }

    /// Signs in and keeps the access token for the requests that follow.
    func signIn(_ credentials: Credentials) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["username": credentials.name, "password": credentials.password])
        let answer = try await self.send(.POST, "/api/auth/login", body: body, timeout: .seconds(60))
        struct Grant: Decodable { var access_token: String }
        guard answer.status == 200, let grant = try? JSONDecoder().decode(Grant.self, from: answer.data) else {
            throw BenchmarkError("signing in as \(credentials.name) failed: HTTP \(answer.status): \(String(decoding: answer.data.prefix(300), as: UTF8.self))")
        }
        self.token.withLock { $0 = grant.access_token }
    }

    /// `GET path`; fails after `timeout` with a clear error.
    func get(_ path: String, timeout: Duration = .seconds(60)) async throws -> HTTPAnswer {
        try await self.send(.GET, path, timeout: timeout)
    }

    /// One request (with the bearer token once signed in); fails after `timeout` with a clear error.
    func send(_ method: HTTPMethod, _ path: String, body: Data? = nil, timeout: Duration = .seconds(60)) async throws -> HTTPAnswer {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: "\(self.host):\(self.port)")
        head.headers.add(name: "Accept", value: "application/json")
        if let token = self.token.withLock({ $0 }) { head.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: "\(body.count)")
        }
        let request = head
        let payload = body.map { ByteBuffer(bytes: $0) }
        let promise = self.channel.eventLoop.makePromise(of: HTTPAnswer.self)
        let channel = self.channel
        let collector = self.collector
        channel.eventLoop.execute {
            collector.value.expect(promise)
            channel.write(HTTPClientRequestPart.head(request), promise: nil)
            if let payload { channel.write(HTTPClientRequestPart.body(.byteBuffer(payload)), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        let timer = channel.eventLoop.scheduleTask(in: timeout.timeAmount) {
            promise.fail(BenchmarkError("\(method) \(path): no answer within \(timeout)"))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }

    /// `GET path`, decoded as JSON; a status other than 200 is an error that quotes the body.
    func getJSON<T: Decodable>(_ type: T.Type, _ path: String, timeout: Duration = .seconds(60)) async throws -> T {
        let answer = try await self.get(path, timeout: timeout)
        guard answer.status == 200 else {
            throw BenchmarkError("GET \(path): HTTP \(answer.status): \(String(decoding: answer.data.prefix(500), as: UTF8.self))")
        }
        do {
            return try JSONDecoder().decode(T.self, from: answer.data)
        } catch {
            throw BenchmarkError("GET \(path): unexpected JSON (\(error)): \(String(decoding: answer.data.prefix(500), as: UTF8.self))")
        }
    }

    func close() async {
        try? await self.channel.close()
    }
}

/// Collects response parts into answers, in request order.
private final class AnswerCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private var waiting = CircularBuffer<(promise: EventLoopPromise<HTTPAnswer>, start: NIODeadline)>()
    private var status = 0
    private var body = ByteBuffer()

    func expect(_ promise: EventLoopPromise<HTTPAnswer>) {
        self.waiting.append((promise, .now()))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.status = Int(head.status.code)
            self.body = context.channel.allocator.buffer(capacity: 0)
        case .body(var part):
            self.body.writeBuffer(&part)
        case .end:
            guard let waiting = self.waiting.popFirst() else { return }
            let elapsed = NIODeadline.now() - waiting.start
            waiting.promise.succeed(HTTPAnswer(status: self.status, body: self.body, nanoseconds: elapsed.nanoseconds))
            self.body = ByteBuffer()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.failAll(BenchmarkError("HTTP connection error: \(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(BenchmarkError("the server closed the HTTP connection"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: BenchmarkError) {
        while let waiting = self.waiting.popFirst() { waiting.promise.fail(error) }
    }
}
