import Foundation
import Logging
import NIOPosix
import Synchronization
import VigilClient
import VigilConnection

/// Chat traffic across a cluster while its members are killed: `count` clients (the `vigil chat`
/// client library, failing over like `vigil chat --server a --server b`), each connected first to
/// member `i % servers` and sending to the next client, which is connected to another member.
/// Every message carries its sender's sequence number; the receivers record what arrives, so the
/// run can tell whether every acknowledged message was delivered exactly once and in order.
final class ClusterChat: Sendable {
    struct Figures: Codable, Equatable {
        var clients: Int
        var sent: Int
        var acknowledged: Int
        var delivered: Int
        /// Messages delivered more than once to the application.
        var duplicates: Int
        /// Messages delivered after a later one of the same sender.
        var outOfOrder: Int
        /// Acknowledged messages never delivered.
        var missing: Int

        enum CodingKeys: String, CodingKey {
            case clients, sent, acknowledged, delivered, duplicates, missing
            case outOfOrder = "out_of_order"
        }
    }

    private struct Ledger {
        var sent = 0
        /// Per sender, the sequence numbers the server acknowledged.
        var acknowledged: [String: Set<Int>] = [:]
        /// Per sender, the sequence numbers delivered, in arrival order.
        var delivered: [String: [Int]] = [:]
        var registered: Set<String> = []
    }

    private let connections: [ClientConnection]
    private let names: [String]
    private let ledger = Mutex(Ledger())
    private let tasks = Mutex<[Task<Void, Never>]>([])

    /// - Parameter servers: the members' agent addresses (`host:port`), plaintext from loopback.
    init(count: Int, servers: [ServerAddress], group: MultiThreadedEventLoopGroup) {
        self.names = (0..<count).map { "chat-\($0)" }
        var logger = Logger(label: "vigil-bench.chat")
        logger.logLevel = .critical
        self.connections = (0..<count).map { index in
            let primary = servers[index % servers.count]
            var settings = ClientSettings(host: primary.host, port: primary.port, name: "chat-\(index)", key: nil)
            settings.otherServers = (1..<servers.count).map { servers[(index + $0) % servers.count] }
            settings.backoffMax = .seconds(1)
            return ClientConnection(settings: settings, logger: logger, group: group)
        }
    }

    /// Connects every client and returns once all are registered.
    func start(timeout: Duration) async throws {
        for (index, connection) in self.connections.enumerated() {
            let name = self.names[index]
            let run = Task { _ = await connection.run() }
            let events = Task { [self] in
                for await event in connection.events {
                    switch event {
                    case .registered:
                        self.ledger.withLock { _ = $0.registered.insert(name) }
                    case .acknowledged(let message, _):
                        if let seq = Int(message.content.split(separator: " ").last ?? "") {
                            self.ledger.withLock { _ = $0.acknowledged[name, default: []].insert(seq) }
                        }
                    case .message(let message):
                        let parts = message.content.split(separator: " ")
                        if parts.count == 3, parts[0] == "chat", let seq = Int(parts[2]) {
                            self.ledger.withLock { $0.delivered[String(parts[1]), default: []].append(seq) }
                        }
                    default:
                        break
                    }
                }
            }
            self.tasks.withLock { $0 += [run, events] }
        }
        let deadline = ContinuousClock.now + timeout
        while self.ledger.withLock({ $0.registered.count }) < self.connections.count {
            guard ContinuousClock.now < deadline else { throw BenchmarkError("chat clients: \(self.ledger.withLock { $0.registered.count }) of \(self.connections.count) registered within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Every client sends one message to the next client every `interval` until cancelled.
    func send(every interval: Duration) async {
        var seq = 0
        while !Task.isCancelled {
            seq += 1
            for (index, connection) in self.connections.enumerated() {
                connection.send("chat \(self.names[index]) \(seq)", to: self.names[(index + 1) % self.names.count])
            }
            self.ledger.withLock { $0.sent += self.connections.count }
            try? await Task.sleep(for: interval)
        }
    }

    /// Waits (bounded) until every message sent is acknowledged and every acknowledged one
    /// delivered, then counts.
    func settle(timeout: Duration) async -> Figures {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let figures = self.figures
            if figures.acknowledged == figures.sent && figures.missing == 0 { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return self.figures
    }

    var figures: Figures {
        self.ledger.withLock { ledger in
            var figures = Figures(clients: self.connections.count, sent: ledger.sent, acknowledged: 0, delivered: 0, duplicates: 0, outOfOrder: 0, missing: 0)
            for name in self.names {
                let acknowledged = ledger.acknowledged[name] ?? []
                let delivered = ledger.delivered[name] ?? []
                figures.acknowledged += acknowledged.count
                figures.delivered += delivered.count
                figures.duplicates += delivered.count - Set(delivered).count
                figures.outOfOrder += zip(delivered, delivered.dropFirst()).filter { $0 >= $1 }.count
                figures.missing += acknowledged.subtracting(delivered).count
            }
            return figures
        }
    }

    func stop() async {
        for connection in self.connections { connection.leave(reason: "bench done", drainTimeout: .zero) }
        let tasks = self.tasks.withLock { $0 }
        for task in tasks { await task.value }
    }
}
