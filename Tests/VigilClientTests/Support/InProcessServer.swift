import Foundation
import Logging
import VigilServer
import VigilStore

/// A real Vigil server in this process (SQLite in a temporary directory, ports chosen by the
/// kernel), as Tests/VigilServerTests' TestServer starts it, reduced to what the client tests need.
final class InProcessServer: Sendable {
    let directory: URL
    let store: SQLiteStore
    let agentPort: Int
    let settings: ServerSettings
    private let task: Task<Void, any Error>

    static func start(_ configure: @Sendable (inout ServerSettings) -> Void = { _ in }) async throws -> InProcessServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-client-server-\(UUID().uuidString)")
        var settings = ServerSettings()
        settings.dataDirectory = directory.path
        settings.agentPort = 0
        settings.httpPort = 0
        settings.heartbeatInterval = .seconds(1)
        settings.openEnrollment = true
        settings.auth.bcryptCost = 4  // the first admin's hash: the cheapest (these tests use no HTTP)
        configure(&settings)
        let store = try SQLiteStore(directory: directory)
        var logger = Logger(label: "in-process-server")
        logger.logLevel = .critical  // the HTTP server reports its cancellation at shutdown as an error
        let (ready, continuation) = AsyncStream<VigilServer.BoundPorts>.makeStream()
        let server = try await VigilServer(settings: settings, store: store, logger: logger) { ports in
            continuation.yield(ports)
            continuation.finish()
        }
        let task = Task { try await server.run() }
        var iterator = ready.makeAsyncIterator()
        guard let ports = await iterator.next() else { throw CancellationError() }
        return InProcessServer(directory: directory, store: store, agentPort: ports.agentPort, settings: settings, task: task)
    }

    private init(directory: URL, store: SQLiteStore, agentPort: Int, settings: ServerSettings, task: Task<Void, any Error>) {
        self.directory = directory
        self.store = store
        self.agentPort = agentPort
        self.settings = settings
        self.task = task
    }

    /// Runs `body` with a fresh server and stops it (removing its directory) afterwards, also on failure.
    static func with<T>(_ configure: @Sendable (inout ServerSettings) -> Void = { _ in }, _ body: (InProcessServer) async throws -> T) async throws -> T {
        let server = try await Self.start(configure)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    func key(for name: String) async throws -> String {
        try await self.store.createKey(hostname: name).token
    }

    func stop() async {
        self.task.cancel()
        _ = await self.task.result
        try? FileManager.default.removeItem(at: self.directory)
    }
}
