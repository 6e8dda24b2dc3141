import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import NIOCore
import NIOPosix
import Synchronization
import VigilProtocol
import VigilStore
@testable import VigilServer

/// Collects log records so tests can assert that a fault was logged.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { self.lines.withLock { $0.append(line) } }
    var all: [String] { self.lines.withLock { $0 } }

    func contains(_ fragment: String) -> Bool { self.all.contains { $0.contains(fragment) } }

    var logger: Logger {
        Logger(label: "test") { _ in CapturingHandler(capture: self) }
    }

    struct CapturingHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
            let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            self.capture.append("\(event.level) \(event.message) \(rendered)")
        }
    }
}

/// A real server (SQLite store in a temporary directory, ports chosen by the kernel) in this process.
final class TestServer: Sendable {
    let directory: URL
    let store: SQLiteStore
    let agentPort: Int
    let httpPort: Int
    let logs: LogCapture
    let server: VigilServer
    private let task: Task<Void, any Error>
    /// The admin's access token, once `http` has signed in.
    private let adminToken = Mutex<String?>(nil)

    static let adminName = "admin"
    static let adminPassword = "test-admin-password"

    /// Who an `http` request is made as.
    enum Caller: Sendable {
        /// The first admin (signed in on first use).
        case admin
        /// No Authorization header.
        case anonymous
        /// This access token.
        case token(String)
    }

    /// - Parameter directory: The data directory; a fresh temporary one by default (pass an old
    ///   one, kept by `stop(keepingFiles: true)`, to restart a server on the same data).
    /// - Parameters:
    ///   - configuration: Settings loaded from a file (for reload tests); they replace the test
    ///     defaults, and the server can reload them.
    ///   - logLevel: The level a reload of `log.level` changes.
    ///   - channels: The notification channels' factory (tests record deliveries in the process).
    static func start(
        directory: URL? = nil, configuration: LoadedConfiguration? = nil, logLevel: LiveLogLevel? = nil,
        channels: (any NotificationChannelFactory)? = nil,
        _ configure: @Sendable (inout ServerSettings) -> Void = { _ in }
    ) async throws -> TestServer {
        let directory = directory ?? configuration.map { URL(fileURLWithPath: $0.settings.dataDirectory) } ?? FileManager.default.temporaryDirectory.appendingPathComponent("vigil-test-\(UUID().uuidString)")
        var settings = ServerSettings()
        settings.dataDirectory = directory.path
        settings.agentPort = 0
        settings.httpPort = 0
        settings.heartbeatInterval = .seconds(1)
        // Every API route but health needs a signed-in user: `http` signs in as this admin.
        settings.auth.initialAdminName = TestServer.adminName
        settings.auth.initialAdminPassword = TestServer.adminPassword
        settings.auth.bcryptCost = 4  // the cheapest: tests sign in often
        configure(&settings)
        if let configuration { settings = configuration.settings }
        let store = try SQLiteStore(directory: directory)
        let logs = LogCapture()
        let (ready, continuation) = AsyncStream<VigilServer.BoundPorts>.makeStream()
        let server = try await VigilServer(settings: settings, store: store, channels: channels, logger: logs.logger, configuration: configuration, logLevel: logLevel) { ports in
            continuation.yield(ports)
            continuation.finish()
        }
        let task = Task { try await server.run() }
        var iterator = ready.makeAsyncIterator()
        guard let ports = await iterator.next() else { throw CancellationError() }
        return TestServer(directory: directory, store: store, ports: ports, logs: logs, server: server, task: task)
    }

    private init(directory: URL, store: SQLiteStore, ports: VigilServer.BoundPorts, logs: LogCapture, server: VigilServer, task: Task<Void, any Error>) {
        self.directory = directory
        self.store = store
        self.agentPort = ports.agentPort
        self.httpPort = ports.httpPort
        self.logs = logs
        self.server = server
        self.task = task
    }

    /// Starts a server, runs `body` against it, and stops it whether `body` throws or not.
    ///
    /// - Parameters:
    ///   - directory: The data directory (a fresh one by default).
    ///   - keepingFiles: Keep the data directory afterwards (to start another server on it).
    static func with(
        directory: URL? = nil, keepingFiles: Bool = false, channels: (any NotificationChannelFactory)? = nil,
        _ configure: @escaping @Sendable (inout ServerSettings) -> Void = { _ in },
        _ body: (TestServer) async throws -> Void
    ) async throws {
        let server = try await TestServer.start(directory: directory, channels: channels, configure)
        do {
            try await body(server)
        } catch {
            await server.stop(keepingFiles: keepingFiles)
            throw error
        }
        await server.stop(keepingFiles: keepingFiles)
    }

    func stop(keepingFiles: Bool = false) async {
        self.task.cancel()
        _ = await self.task.result
        if !keepingFiles { try? FileManager.default.removeItem(at: self.directory) }
    }

    /// An HTTP request to the API; returns the status, the headers and the body as JSON (or `nil`).
    ///
    /// Made as the admin unless `as` says otherwise (or `headers` has its own Authorization).
    func http(_ method: String = "GET", _ path: String, headers: [String: String] = [:], body: Data? = nil, as caller: Caller = .admin) async throws -> (status: Int, headers: [String: String], json: Any?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(self.httpPort)\(path)")!)
        request.httpMethod = method
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if !headers.keys.contains(where: { $0.lowercased() == "authorization" }) {
            switch caller {
            case .admin: request.setValue("Bearer \(try await self.adminAccessToken())", forHTTPHeaderField: "Authorization")
            case .token(let token): request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            case .anonymous: break
            }
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
        return (http.statusCode, fields, try? JSONSerialization.jsonObject(with: data))
    }

    /// Signs in and returns the whole answer of `POST /api/auth/login` (status and JSON).
    func signIn(_ name: String, _ password: String, headers: [String: String] = [:]) async throws -> (status: Int, headers: [String: String], json: Any?) {
        let body = try JSONSerialization.data(withJSONObject: ["username": name, "password": password])
        return try await self.http("POST", "/api/auth/login", headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a }, body: body, as: .anonymous)
    }

    /// An access token for `name`, signing in (fails the test's expectations by throwing otherwise).
    func accessToken(_ name: String, _ password: String) async throws -> String {
        let answer = try await self.signIn(name, password)
        guard answer.status == 200, let token = (answer.json as? [String: Any])?["access_token"] as? String else {
            throw TimeoutError(description: "sign-in as \(name) answered \(answer.status): \(answer.json ?? "-")")
        }
        return token
    }

    /// The admin's access token (signed in once per server).
    func adminAccessToken() async throws -> String {
        if let token = self.adminToken.withLock({ $0 }) { return token }
        let token = try await self.accessToken(Self.adminName, Self.adminPassword)
        self.adminToken.withLock { $0 = token }
        return token
    }

    /// Creates a user with `role` (through the API, as the admin) and returns an access token for it.
    func user(_ name: String, role: UserRole, password: String = "password-of-a-user") async throws -> String {
        let body = try JSONSerialization.data(withJSONObject: ["name": name, "password": password, "role": role.rawValue])
        let created = try await self.http("POST", "/api/users", headers: ["Content-Type": "application/json"], body: body)
        guard created.status == 201 else { throw TimeoutError(description: "creating user \(name) answered \(created.status): \(created.json ?? "-")") }
        return try await self.accessToken(name, password)
    }

    /// Creates a key and returns its token.
    func key(for host: String) async throws -> String {
        try await self.store.createKey(hostname: host).token
    }

    /// Waits until the tracker shows `host` in `state`.
    func waitFor(_ host: String, _ state: LivenessState, timeout: Duration = .seconds(5)) async throws {
        try await eventually(timeout: timeout, "\(host) to be \(state)") {
            self.server.tracker.snapshot().contains { $0.hostname == host && $0.state == state }
        }
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    var description: String
}

/// Polls `condition` every 20 ms until it holds, failing after `timeout`.
func eventually(timeout: Duration, _ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TimeoutError(description: "timed out after \(timeout) waiting for \(what)")
}
