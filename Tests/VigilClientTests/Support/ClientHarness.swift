import Logging
import Synchronization
import VigilClient
import VigilProtocol

/// Runs a ``ClientConnection`` and records its events, so tests can await one.
final class ClientHarness: Sendable {
    let connection: ClientConnection
    let run: Task<ClientExit, Never>
    private let recorder = Recorder()

    /// The events so far.
    final class Recorder: Sendable {
        let events = Mutex<[ClientEvent]>([])
    }
    private let reader: Task<Void, Never>

    init(_ settings: ClientSettings) {
        var logger = Logger(label: "test-client")
        logger.logLevel = .critical  // refusals are expected in these tests; they are checked, not printed
        let connection = ClientConnection(settings: settings, logger: logger)
        self.connection = connection
        self.run = Task { await connection.run() }
        self.reader = Task { [recorder = self.recorder] in
            for await event in connection.events { recorder.events.withLock { $0.append(event) } }
        }
    }

    static func settings(port: Int, name: String = "alice", key: String? = nil) -> ClientSettings {
        var settings = ClientSettings(host: "127.0.0.1", port: port, name: name, key: key)
        settings.backoffInitial = .milliseconds(20)
        settings.backoffMax = .milliseconds(200)
        return settings
    }

    var all: [ClientEvent] { self.recorder.events.withLock { $0 } }

    /// The first recorded event `match` maps to a value, waiting up to `timeout`.
    func first<T>(_ what: String, timeout: Duration = .seconds(20), _ match: (ClientEvent) -> T?) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = self.all.lazy.compactMap(match).first { return value }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw ScriptError("timed out after \(timeout) waiting for \(what); events: \(self.all)")
    }

    /// Every recorded event `match` maps to a value.
    func all<T>(_ match: (ClientEvent) -> T?) -> [T] {
        self.all.compactMap(match)
    }

    func messages() -> [IncomingMessage] {
        self.all { if case .message(let message) = $0 { message } else { nil } }
    }

    func acknowledged() -> [OutgoingMessage] {
        self.all { if case .acknowledged(let message, _) = $0 { message } else { nil } }
    }

    /// Leaves and waits for the end (bounded).
    func finish(timeout: Duration = .seconds(20)) async throws -> ClientExit {
        self.connection.leave(drainTimeout: .zero)
        return try await self.exit(timeout: timeout)
    }

    func exit(timeout: Duration = .seconds(20)) async throws -> ClientExit {
        let run = self.run
        return try await withThrowingTaskGroup(of: ClientExit?.self) { group in
            group.addTask { await run.value }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let exit = try await group.next() ?? nil else { throw ScriptError("the client did not stop within \(timeout)") }
            return exit
        }
    }
}
