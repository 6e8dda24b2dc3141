import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HummingbirdWSClient
import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import Synchronization
import VigilMetrics
@testable import VigilServer

/// A live-stream client over HummingbirdWSClient: what it receives is queued as parsed JSON
/// objects; what it sends is JSON text.
final class StreamClient: Sendable {
    /// One received message: its raw text and its `type`.
    struct Received: Sendable {
        var text: String
        var type: String
        /// The parsed object (re-parsed on each access: `[String: Any]` is not `Sendable`).
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(self.text.utf8))) as? [String: Any] ?? [:] }
    }

    private let outgoing: AsyncStream<String>.Continuation
    private let inbox: Inbox
    private let task: Task<WebSocketCloseFrame?, any Error>

    private init(outgoing: AsyncStream<String>.Continuation, inbox: Inbox, task: Task<WebSocketCloseFrame?, any Error>) {
        self.outgoing = outgoing
        self.inbox = inbox
        self.task = task
    }

    /// Received messages in order; a reader that gives up (timeout) leaves the rest in place.
    final class Inbox: Sendable {
        private struct State {
            var items: [Received] = []
            var finished = false
            var waiter: (id: Int, continuation: CheckedContinuation<Received?, Never>)?
            var nextID = 0
        }
        private let state = Mutex(State())

        func push(_ item: Received) {
            let waiter: CheckedContinuation<Received?, Never>? = self.state.withLock { state in
                if let waiter = state.waiter {
                    state.waiter = nil
                    return waiter.continuation
                }
                state.items.append(item)
                return nil
            }
            waiter?.resume(returning: item)
        }

        func finish() {
            let waiter = self.state.withLock { state in
                state.finished = true
                defer { state.waiter = nil }
                return state.waiter?.continuation
            }
            waiter?.resume(returning: nil)
        }

        /// The next item; `nil` when finished or when the calling task is cancelled.
        func next() async -> Received? {
            let id = self.state.withLock { state in
                state.nextID += 1
                return state.nextID
            }
            return await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Received?, Never>) in
                    let immediate: Received?? = self.state.withLock { state in
                        if !state.items.isEmpty { return .some(state.items.removeFirst()) }
                        if state.finished || Task.isCancelled { return .some(nil) }
                        state.waiter = (id, continuation)
                        return .none
                    }
                    if let immediate { continuation.resume(returning: immediate) }
                }
            } onCancel: {
                let waiter: CheckedContinuation<Received?, Never>? = self.state.withLock { state in
                    guard let waiter = state.waiter, waiter.id == id else { return nil }
                    state.waiter = nil
                    return waiter.continuation
                }
                waiter?.resume(returning: nil)
            }
        }
    }

    /// Connects to `ws://127.0.0.1:<port>/api/stream` (the upgrade completes in the background).
    static func connect(port: Int, path: String = "/api/stream") -> StreamClient {
        let (outgoingStream, outgoing) = AsyncStream<String>.makeStream()
        let inbox = Inbox()
        let task = Task {
            defer { inbox.finish() }
            var configuration = WebSocketClientConfiguration()
            configuration.maxFrameSize = 64 << 20
            configuration.autoPing = .disabled
            return try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)\(path)", configuration: configuration, logger: Logger(label: "stream-test")) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in outgoingStream { try await outbound.write(.text(text)) }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    for try await message in inbound.messages(maxSize: 64 << 20) {
                        guard case .text(let text) = message else { continue }
                        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
                        inbox.push(Received(text: text, type: object?["type"] as? String ?? "?"))
                    }
                    group.cancelAll()
                }
            }
        }
        return StreamClient(outgoing: outgoing, inbox: inbox, task: task)
    }

    /// Sends one JSON object as a text message.
    func send(_ object: [String: Any]) {
        let data = try! JSONSerialization.data(withJSONObject: object)
        self.outgoing.yield(String(decoding: data, as: UTF8.self))
    }

    /// Sends raw text.
    func send(text: String) {
        self.outgoing.yield(text)
    }

    /// Signs in and waits for `ready`.
    func authenticate(_ token: String) async throws -> Received {
        self.send(["type": "auth", "token": token])
        return try await self.next(type: "ready")
    }

    /// Subscribes and waits for the `subscribed` answer.
    @discardableResult
    func subscribe(_ topics: [String]) async throws -> Received {
        self.send(["type": "subscribe", "topics": topics])
        return try await self.next(type: "subscribed")
    }

    /// The next message, or `nil` when the stream ended; throws after `timeout`.
    func next(timeout: Duration = .seconds(5)) async throws -> Received? {
        try await withTimeout(timeout, "a stream message") { await self.inbox.next() }
    }

    /// The next message of `type`, skipping others; throws when the stream ends first.
    func next(type: String, timeout: Duration = .seconds(5)) async throws -> Received {
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero, let message = try await self.next(timeout: left) else {
                throw TimeoutError(description: "no \(type) message within \(timeout)")
            }
            if message.type == type { return message }
        }
    }

    /// Waits for the server to close the stream; returns its close code and reason.
    func closed(timeout: Duration = .seconds(10)) async throws -> (code: Int?, reason: String?) {
        try await withTimeout(timeout, "the stream to close") {
            let frame = try await self.task.value
            return (frame.map { Self.number($0.closeCode) }, frame?.reason)
        }
    }

    /// Closes from this side and waits for the connection to end.
    func close() async {
        self.outgoing.finish()
        _ = try? await withTimeout(.seconds(5), "close") { try await self.task.value }
        self.task.cancel()
    }

    static func number(_ code: WebSocketErrorCode) -> Int {
        var buffer = ByteBuffer()
        buffer.write(webSocketErrorCode: code)
        return Int(buffer.readInteger(as: UInt16.self) ?? 0)
    }
}

/// A stream client that signs in and subscribes, then never reads another byte: its receive
/// buffer is kept tiny so the server's writes back up at once.
final class StalledStreamClient: Sendable {
    let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Opens the connection and sends, in one write, the upgrade request, `auth` and `subscribe`.
    static func connect(port: Int, token: String, topics: [String]) async throws -> StalledStreamClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 2048)
            .channelOption(ChannelOptions.autoRead, value: false)
            .connect(host: "127.0.0.1", port: port).get()
        var bytes = ByteBuffer(string: "GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        Self.appendFrame(#"{"type":"auth","token":"\#(token)"}"#, to: &bytes)
        let list = topics.map { "\"\($0)\"" }.joined(separator: ",")
        Self.appendFrame(#"{"type":"subscribe","topics":[\#(list)]}"#, to: &bytes)
        try await channel.writeAndFlush(bytes)
        return StalledStreamClient(channel: channel)
    }

    /// A masked text frame, as a client must send it.
    static func appendFrame(_ text: String, to buffer: inout ByteBuffer) {
        let payload = Array(text.utf8)
        buffer.writeInteger(UInt8(0x81))
        if payload.count < 126 {
            buffer.writeInteger(UInt8(0x80 | payload.count))
        } else {
            buffer.writeInteger(UInt8(0x80 | 126))
            buffer.writeInteger(UInt16(payload.count))
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        buffer.writeBytes(mask)
        buffer.writeBytes(payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
    }

    /// Starts reading (discarding) and waits until the server has closed the connection.
    func drainUntilClosed(timeout: Duration = .seconds(15)) async throws {
        try await self.channel.pipeline.addHandler(Discard()).get()
        try await self.channel.setOption(ChannelOptions.autoRead, value: true).get()
        self.channel.read()
        try await withTimeout(timeout, "the server to close the stalled stream") {
            try await self.channel.closeFuture.get()
        }
    }

    func close() async {
        try? await self.channel.close()
    }

    private final class Discard: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    }
}

/// Runs `body`, failing after `timeout`.
func withTimeout<T: Sendable>(_ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TimeoutError(description: "timed out after \(timeout) waiting for \(what)")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Sign-in and samples for the stream tests.
enum StreamFixtures {
    /// The first admin's password (`auth.initial_admin_password`, set by ``TestServer``).
    static let adminPassword = TestServer.adminPassword

    /// Test settings: a fast fleet tick, a generous ingest rate.
    static func configure(_ settings: inout ServerSettings) {
        settings.stream.fleetInterval = .milliseconds(200)
        settings.metricsRateLimit = 10_000
        settings.metricsRateBurst = 100_000
    }

    /// Signs in over HTTP (`POST /api/auth/login`, a new session each time) and returns the access token.
    static func signIn(port: Int, username: String = TestServer.adminName, password: String = Self.adminPassword) async throws -> String {
        let (status, json) = try await Self.post(port: port, path: "/api/auth/login", body: ["username": username, "password": password])
        guard status == 200, let token = json?["access_token"] as? String else {
            throw TimeoutError(description: "sign-in as \(username) failed: HTTP \(status) \(String(describing: json))")
        }
        return token
    }

    static func post(port: Int, path: String, body: [String: Any], token: String? = nil, headers: [String: String] = [:]) async throws -> (Int, [String: Any]?) {
        try await Self.post(port: port, path: path, data: try JSONSerialization.data(withJSONObject: body), token: token, headers: headers)
    }

    static func post(port: Int, path: String, data: Data, token: String? = nil, headers: [String: String] = [:]) async throws -> (Int, [String: Any]?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        request.httpBody = data
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (body, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, try? JSONSerialization.jsonObject(with: body) as? [String: Any])
    }

    static func get(port: Int, path: String, token: String? = nil, headers: [String: String] = [:]) async throws -> (Int, [String: String], Any?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (body, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
        return (http.statusCode, fields, try? JSONSerialization.jsonObject(with: body))
    }

    /// A sample; `processes` top processes make it larger (a real host sends about 10).
    static func document(at date: Date = Date(), cpu: Double = 12.5, processes: Int = 0) -> MetricsDocument {
        var document = MetricsIngestTests.document(at: date, cpu: cpu)
        if processes > 0 {
            let list = (0..<processes).map { index in
                MetricsDocument.Processes.Process(pid: index + 1, name: "worker-\(index)-with-a-longish-name", user: "vigil", cpuPercent: Double(index % 100), rss: 1 << 20)
            }
            document.processes = .init(total: processes, topCPU: list, topMemory: list)
        }
        return document
    }
}
