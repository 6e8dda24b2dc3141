import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import VigilAgent
import VigilProtocol

/// The agent's session logic (register, heartbeats, acks, goodbye, refusals, reconnects, failover,
/// backoff), driven in-process against a scripted fake server that records everything it receives.
///
/// Timing: every wait is a deadline-polling loop with a generous deadline; assertions are on order
/// and counts, except for the few timings the protocol itself states (heartbeat at once, interval,
/// clamp), which get wide margins. The suite is serialized so its timing checks do not compete
/// with each other for the CPU.
@Suite("Agent session against a scripted server", .serialized, .timeLimit(.minutes(2)))
struct AgentSessionTests {
    // MARK: 1. Happy path

    @Test("registers, heartbeats at once and then every interval, and unregisters cleanly on shutdown")
    func happyPath() async throws {
        try await withScriptedServer({ connection, envelope in
            switch envelope.body {
            case .clientRegister: connection.send(.serverResponse(.registered(interval: 0.2)))
            case .heartbeat(let heartbeat): connection.send(.heartbeatAck(.ack(heartbeat.seq)))
            // Answer the goodbye a little late, so "run() waited for the answer" is observable.
            case .clientUnregister: connection.send(.serverResponse(.goodbye), after: .milliseconds(200))
            default: break
            }
        }) { server in
            // unregisterTimeout 5 s: returning on the answer (≈0.2 s) is then clearly distinguishable
            // from returning on the deadline.
            try await withAgent(ports: [server.port], { $0.unregisterTimeout = .seconds(5) }) { agent in
                let register = try await waitFor("CLIENT_REGISTER") { server.received(on: 0).first }
                guard case .clientRegister(let payload) = register.envelope.body else {
                    Issue.record("the first frame must be CLIENT_REGISTER, got \(register.envelope.type)")
                    return
                }
                #expect(payload.key == testKey)
                #expect(payload.hostname == testHostname)
                #expect(payload.protocolVersion == 1)
                #expect(payload.capabilities.contains("heartbeat"))

                let heartbeats = try await waitFor("five heartbeats") {
                    let beats = server.heartbeats(on: 0)
                    return beats.count >= 5 ? beats : nil
                }
                #expect(heartbeats.prefix(5).map(\.seq) == [1, 2, 3, 4, 5], "seq starts at 1 and increases by one")
                let replySent = try #require(server.sent(on: 0).first { $0.type == .serverResponse }?.at)
                // "At once": well under one 200 ms interval after the register reply.
                let firstDelay = heartbeats[0].at - replySent
                #expect(firstDelay < .milliseconds(150), "first heartbeat came \(firstDelay) after the register reply")
                // "About every 0.2 s": the mean of three intervals, with a wide margin for a loaded machine.
                let meanGap = (heartbeats[4].at - heartbeats[1].at) / 3
                #expect(meanGap >= .milliseconds(150) && meanGap <= .milliseconds(600), "mean heartbeat gap \(meanGap)")

                let shutdownAt = ContinuousClock.now
                agent.shutdown.request()
                let (exit, exitedAt) = try await agent.exit(within: .seconds(10))
                #expect(exit == .shutDown)

                let received = server.received(on: 0)
                #expect(received.first?.envelope.type == .clientRegister)
                #expect(received.last?.envelope.type == .clientUnregister, "the goodbye is the last frame: \(received.map(\.envelope.type))")
                #expect(received.dropFirst().dropLast().allSatisfy { $0.envelope.type == .heartbeat })
                if case .clientUnregister(let goodbye)? = received.last?.envelope.body {
                    #expect(goodbye.reason?.isEmpty == false, "the unregister carries a reason")
                }
                // The register reply and the (200 ms late) goodbye: wait for the latter to be sent
                // even if run() returned early, so an early return is caught rather than hidden.
                let goodbyeSent = try await waitFor("the server's answer to CLIENT_UNREGISTER") {
                    let responses = server.sent(on: 0).filter { $0.type == .serverResponse }
                    return responses.count >= 2 ? responses[1].at : nil
                }
                #expect(exitedAt >= goodbyeSent, "run() returned before the server answered the unregister")
                #expect(exitedAt - shutdownAt < .seconds(4), "run() returned on the 5 s unregisterTimeout, not on the answer")
                #expect(server.connectionCount == 1)
            }
        }
    }

    // MARK: 2. Shutdown while the register reply is outstanding

    @Test("shutdown while the register reply is outstanding: waits for it, then unregisters")
    func shutdownWhileRegistering() async throws {
        try await withScriptedServer({ connection, envelope in
            // The register is answered by the test body, late; the goodbye at once.
            if case .clientUnregister = envelope.body { connection.send(.serverResponse(.goodbye)) }
        }) { server in
            // unregisterTimeout also bounds the wait for the late reply: make it far longer than the delay.
            try await withAgent(ports: [server.port], { $0.unregisterTimeout = .seconds(5) }) { agent in
                _ = try await waitFor("CLIENT_REGISTER") { server.received(on: 0).first }
                // The shutdown handler enqueues its event synchronously, so the agent has it in hand
                // before the reply below is even written.
                agent.shutdown.request()
                // The scripted delay of the register reply (not a synchronisation sleep).
                try await Task.sleep(for: .milliseconds(300))
                let connection = try #require(server.connection(0))
                connection.send(.serverResponse(.registered(interval: 0.2)))

                let (exit, _) = try await agent.exit(within: .seconds(10))
                #expect(exit == .shutDown)
                let received = server.received(on: 0)
                // No heartbeat: the agent leaves as soon as it learns it was registered.
                #expect(received.map(\.envelope.type) == [.clientRegister, .clientUnregister])
                let replySent = try #require(server.sent(on: 0).first { $0.type == .serverResponse }?.at)
                if let unregister = received.last, unregister.envelope.type == .clientUnregister {
                    #expect(unregister.at >= replySent, "the unregister must follow the register reply")
                }
                #expect(server.connectionCount == 1)
            }
        }
    }

    // MARK: 3. Refusal

    @Test("a fatal invalid_key refusal ends run() with .refused, without reconnecting or failing over")
    func refusal() async throws {
        try await withScriptedServer({ connection, envelope in
            if case .clientRegister = envelope.body {
                connection.send(.serverResponse(ServerResponsePayload(success: false, message: "unknown key", code: .invalidKey, fatal: true)), thenClose: true)
            }
        }) { refusing in
            // A second, welcoming server: the agent must not fail over to it either.
            try await withScriptedServer(welcoming) { spare in
                try await withAgent(ports: [refusing.port, spare.port]) { agent in
                    let (exit, _) = try await agent.exit(within: .seconds(10))
                    guard case .refused(let reason) = exit else {
                        Issue.record("expected .refused, got \(exit)")
                        return
                    }
                    #expect(reason.contains("invalid_key"), "reason: \(reason)")
                    #expect(refusing.connectionCount == 1)
                    #expect(refusing.received.filter { $0.envelope.type == .clientRegister }.count == 1)
                    #expect(spare.connectionCount == 0, "a permanent refusal must not fail over")
                }
            }
        }
    }

    // MARK: 4. Superseded

    @Test("superseded after registration ends run() with .refused and no reconnect")
    func superseded() async throws {
        try await withScriptedServer({ connection, envelope in
            switch envelope.body {
            // A long interval: no timer tick races the close below.
            case .clientRegister: connection.send(.serverResponse(.registered(interval: 30)))
            case .heartbeat(let heartbeat):
                connection.send(.heartbeatAck(.ack(heartbeat.seq)))
                connection.send(.serverResponse(ServerResponsePayload(
                    success: false, message: "another agent registered with this key", code: .superseded, fatal: true
                )), thenClose: true)
            default: break
            }
        }) { server in
            try await withAgent(ports: [server.port]) { agent in
                let (exit, _) = try await agent.exit(within: .seconds(10))
                guard case .refused(let reason) = exit else {
                    Issue.record("expected .refused, got \(exit)")
                    return
                }
                #expect(reason.contains("superseded"), "reason: \(reason)")
                #expect(server.connectionCount == 1, "a superseded agent must not reconnect")
                #expect(server.received.map(\.envelope.type) == [.clientRegister, .heartbeat])
            }
        }
    }

    // MARK: 5. Server that never acks

    @Test("after 3 unacknowledged heartbeats the agent drops the connection and registers again")
    func unacknowledgedHeartbeats() async throws {
        try await withScriptedServer({ connection, envelope in
            if case .clientRegister = envelope.body { connection.send(.serverResponse(.registered(interval: 0.1))) }
            // Heartbeats are never acknowledged.
        }) { server in
            try await withAgent(ports: [server.port]) { agent in
                let secondRegister = try await waitFor("a CLIENT_REGISTER on a second connection") {
                    server.received(on: 1).first { $0.envelope.type == .clientRegister }
                }
                #expect(secondRegister.connection == 1)
                // The server never closes: the agent did. Once the close is seen, every frame of the
                // first connection has been read.
                _ = try await waitFor("the agent to close the silent connection") { server.closedAt(0) }
                // Exactly three heartbeats: the fourth tick finds three unanswered and gives up instead.
                #expect(server.heartbeats(on: 0).map(\.seq) == [1, 2, 3])
                #expect(server.received(on: 0).map(\.envelope.type) == [.clientRegister, .heartbeat, .heartbeat, .heartbeat])
                #expect(agent.logs.contains("3 heartbeats unacknowledged"), "logs: \(agent.logs.all)")
            }
        }
    }

    // MARK: 6. Hostile values

    @Test(
        "an absurd or meaningless heartbeat_interval is clamped or replaced: no crash, no second heartbeat soon",
        arguments: [1e12, 1e300, 0, -1]
    )
    func hostileLongInterval(interval: Double) async throws {
        try await withScriptedServer({ connection, envelope in
            switch envelope.body {
            case .clientRegister: connection.send(.serverResponse(.registered(interval: interval)))
            case .heartbeat(let heartbeat): connection.send(.heartbeatAck(.ack(heartbeat.seq)))
            case .clientUnregister: connection.send(.serverResponse(.goodbye))
            default: break
            }
        }) { server in
            try await withAgent(ports: [server.port]) { agent in
                _ = try await waitFor("the first heartbeat") { server.heartbeats(on: 0).first }
                // An observation window (not synchronisation): clamped to an hour (or the 30 s default
                // for 0 and negatives), no second heartbeat may come in it.
                try await Task.sleep(for: .milliseconds(400))
                #expect(server.heartbeats(on: 0).map(\.seq) == [1])
                agent.shutdown.request()
                let (exit, _) = try await agent.exit(within: .seconds(10))
                #expect(exit == .shutDown)
                #expect(server.received(on: 0).last?.envelope.type == .clientUnregister)
            }
        }
    }

    @Test("a heartbeat_interval of 1 µs is clamped: heartbeats come no faster than about 100 ms")
    func hostileTinyInterval() async throws {
        try await withScriptedServer({ connection, envelope in
            switch envelope.body {
            case .clientRegister: connection.send(.serverResponse(.registered(interval: 0.000001)))
            case .heartbeat(let heartbeat): connection.send(.heartbeatAck(.ack(heartbeat.seq)))
            case .clientUnregister: connection.send(.serverResponse(.goodbye))
            default: break
            }
        }) { server in
            try await withAgent(ports: [server.port]) { agent in
                let beats = try await waitFor("four heartbeats") {
                    let beats = server.heartbeats(on: 0)
                    return beats.count >= 4 ? beats : nil
                }
                #expect(beats.prefix(4).map(\.seq) == [1, 2, 3, 4])
                // Seq 2 → 3 is one full timer interval (seq 1 goes out at once).
                let gap = beats[2].at - beats[1].at
                #expect(gap >= .milliseconds(80), "seq 2 → 3 came \(gap) apart; the 100 ms clamp is not applied")
                #expect(server.connectionCount == 1)
                agent.shutdown.request()
                #expect(try await agent.exit(within: .seconds(10)).exit == .shutDown)
            }
        }
    }

    @Test("an ACK for seq 999 before any heartbeat is ignored: no crash, and heartbeats continue")
    func bogusAck() async throws {
        try await withScriptedServer({ connection, envelope in
            switch envelope.body {
            case .clientRegister:
                // One before the register reply, one right after it (before or racing heartbeat 1).
                connection.send(.heartbeatAck(.ack(999)))
                connection.send(.serverResponse(.registered(interval: 0.1)))
                connection.send(.heartbeatAck(.ack(999)))
            case .heartbeat(let heartbeat): connection.send(.heartbeatAck(.ack(heartbeat.seq)))
            case .clientUnregister: connection.send(.serverResponse(.goodbye))
            default: break
            }
        }) { server in
            try await withAgent(ports: [server.port]) { agent in
                // Six heartbeats on one connection: past the point where 3 unacknowledged would have
                // dropped it, so the real acks still count after the bogus one.
                let beats = try await waitFor("six heartbeats") {
                    let beats = server.heartbeats(on: 0)
                    return beats.count >= 6 ? beats : nil
                }
                #expect(beats.prefix(6).map(\.seq) == [1, 2, 3, 4, 5, 6])
                #expect(server.connectionCount == 1)
                #expect(!agent.logs.contains("session ended"), "logs: \(agent.logs.all)")
                agent.shutdown.request()
                #expect(try await agent.exit(within: .seconds(10)).exit == .shutDown)
            }
        }
    }

    // MARK: 7. Failover

    @Test("failover: with nothing listening on the first server, the agent registers with the second")
    func failover() async throws {
        let deadPort = try await unusedPort()
        try await withScriptedServer(welcoming) { server in
            try await withAgent(ports: [deadPort, server.port]) { agent in
                let register = try await waitFor("CLIENT_REGISTER on the second server") {
                    server.received(on: 0).first { $0.envelope.type == .clientRegister }
                }
                #expect(register.connection == 0)
                _ = try await waitFor("a heartbeat on the second server") { server.heartbeats(on: 0).first }
                #expect(agent.logs.all.contains { $0.contains("session ended") && $0.contains("server=127.0.0.1:\(deadPort)") },
                        "the first server was tried and failed; logs: \(agent.logs.all)")
                agent.shutdown.request()
                #expect(try await agent.exit(within: .seconds(10)).exit == .shutDown)
                #expect(server.connectionCount == 1)
            }
        }
    }

    // MARK: 8. Backoff against a server that accepts and drops at once

    @Test("a server that accepts and drops at once gets growing reconnect delays")
    func backoffGrows() async throws {
        try await withScriptedServer({ connection, envelope in
            if case .clientRegister = envelope.body {
                connection.send(.serverResponse(.registered(interval: 30)), thenClose: true)
            }
        }) { server in
            // backoffResetAfter 10 s: none of these sessions lasts long enough to reset the backoff.
            try await withAgent(ports: [server.port], { $0.backoffResetAfter = .seconds(10) }) { _ in
                let first = try await waitFor("the first CLIENT_REGISTER") {
                    server.received.first { $0.envelope.type == .clientRegister }
                }
                // A measurement window (not synchronisation): registrations within 1.5 s of the first.
                let window = Duration.milliseconds(1500)
                try await Task.sleep(until: first.at + window + .milliseconds(100))
                let registrations = server.received.filter { $0.envelope.type == .clientRegister && $0.at - first.at <= window }
                // The bound, from VigilAgent.run() and ReconnectBackoff: after each registered session
                // the agent waits backoff.next(); attempt k (k = 0, 1, …, never reset here) draws
                // uniformly from [5 ms (initial/10), min(50 ms · 2^k, 30 s)]. Twelve registrations in
                // 1.5 s need the eleven delays d0…d10 to sum below 1.5 s, so each of d5…d10 below
                // 1.5 s: P ≤ ∏ 1495/(50·2^k − 5) for k = 5…10 ≈ 0.94·0.47·0.23·0.12·0.058·0.029 ≈ 2·10⁻⁵
                // (with the sum constraint, ≈ 3·10⁻⁸). The expected count is about 6. A backoff that
                // did not grow (reset after every registered session) draws every delay from
                // [5, 50] ms and gives dozens of registrations in the window.
                #expect(registrations.count < 12, "\(registrations.count) registrations in 1.5 s: the backoff does not grow")
                // d0 ≤ 50 ms and d1 ≤ 100 ms always: at least three registrations fit in the window.
                #expect(registrations.count >= 3, "only \(registrations.count) registrations: the agent does not reconnect")
                #expect(Set(registrations.map(\.connection)).count == registrations.count, "one registration per connection")
            }
        }
    }
}

// MARK: - Agent harness

private let testKey = "vk_agenttest_0123456789abcdef"
private let testHostname = "agent-under-test"

/// Runs one `VigilAgent` in a task, with a shutdown signal the test controls and captured logs.
private final class AgentRun: Sendable {
    typealias Outcome = (exit: VigilAgent.Exit, at: ContinuousClock.Instant)

    let shutdown: ShutdownSignal
    let logs: LogCapture
    private let outcome: OutcomeBox
    private let task: Task<Void, Never>

    init(settings: AgentSettings) {
        let shutdown = ShutdownSignal()
        let logs = LogCapture()
        let outcome = OutcomeBox()
        let agent = VigilAgent(settings: settings, shutdown: shutdown, logger: logs.logger, group: MultiThreadedEventLoopGroup.singleton)
        self.shutdown = shutdown
        self.logs = logs
        self.outcome = outcome
        self.task = Task {
            let exit = await agent.run()
            // Stamped in the same task, right as run() returns.
            outcome.value.withLock { $0 = (exit, ContinuousClock.now) }
        }
    }

    /// Waits for `run()` to return; on timeout, stops the agent and throws.
    func exit(within timeout: Duration) async throws -> Outcome {
        do {
            return try await waitFor("run() to return", timeout: timeout) { self.outcome.value.withLock { $0 } }
        } catch {
            await self.stop()
            throw TimeoutError(description: "\(error); agent logs: \(self.logs.all)")
        }
    }

    /// Requests shutdown and waits for the agent to finish (idempotent).
    func stop() async {
        self.shutdown.request()
        await self.task.value
    }

    private final class OutcomeBox: Sendable {
        let value = Mutex<Outcome?>(nil)
    }
}

private func agentSettings(ports: [Int]) -> AgentSettings {
    var settings = AgentSettings(servers: ports.map { ServerAddress(host: "127.0.0.1", port: $0) }, key: testKey, hostname: testHostname)
    settings.connectTimeout = .seconds(2)
    settings.registerTimeout = .seconds(1)
    settings.unregisterTimeout = .seconds(1)
    settings.backoffInitial = .milliseconds(50)
    settings.backoffMax = .seconds(30)
    return settings
}

/// Runs `body` with an agent pointed at `ports`, and always stops the agent afterwards.
private func withAgent(
    ports: [Int],
    _ configure: (inout AgentSettings) -> Void = { _ in },
    _ body: (AgentRun) async throws -> Void
) async throws {
    var settings = agentSettings(ports: ports)
    configure(&settings)
    let agent = AgentRun(settings: settings)
    do {
        try await body(agent)
    } catch {
        await agent.stop()
        throw error
    }
    await agent.stop()
}

/// Polls `probe` every 10 ms until it yields a value, failing after `timeout`.
private func waitFor<T>(_ what: String, timeout: Duration = .seconds(10), _ probe: () throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try probe() { return value }
        guard ContinuousClock.now < deadline else { throw TimeoutError(description: "timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A port with nothing listening: bound by the kernel, noted, and closed again.
private func unusedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = try #require(channel.localAddress?.port)
    try await channel.close()
    return port
}

// MARK: - Scripted server

/// Answers every register with success (interval 0.2 s), acks every heartbeat, answers the goodbye.
private let welcoming: ScriptedServer.Script = { connection, envelope in
    switch envelope.body {
    case .clientRegister: connection.send(.serverResponse(.registered(interval: 0.2)))
    case .heartbeat(let heartbeat): connection.send(.heartbeatAck(.ack(heartbeat.seq)))
    case .clientUnregister: connection.send(.serverResponse(.goodbye))
    default: break
    }
}

/// Runs `body` with a fresh scripted server, and always stops it afterwards.
private func withScriptedServer(_ script: @escaping ScriptedServer.Script, _ body: (ScriptedServer) async throws -> Void) async throws {
    let server = try await ScriptedServer.start(script: script)
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
    #expect(server.badFrames.isEmpty, "the agent sent unreadable frames: \(server.badFrames)")
}

/// A fake Vigil server on 127.0.0.1 (kernel-chosen port) with Vigil framing. It records every
/// envelope it receives (with the receive time and the connection's index, in accept order) and
/// every envelope it sends (stamped just before the write), and lets a script decide the replies.
private final class ScriptedServer: Sendable {
    /// Called on the connection's event loop for every envelope received.
    typealias Script = @Sendable (ScriptedConnection, Envelope) -> Void

    struct Received: Sendable {
        let connection: Int
        let envelope: Envelope
        let at: ContinuousClock.Instant
    }

    struct Sent: Sendable {
        let connection: Int
        let type: MessageType
        let at: ContinuousClock.Instant
    }

    /// Everything the server saw, shared with its handlers.
    final class Record: Sendable {
        private struct State {
            var received: [Received] = []
            var sent: [Sent] = []
            var connections: [ScriptedConnection] = []
            var closedAt: [Int: ContinuousClock.Instant] = [:]
            var badFrames: [String] = []
        }

        private let state = Mutex(State())

        func accept(_ channel: any Channel) -> ScriptedConnection {
            self.state.withLock { state in
                let connection = ScriptedConnection(index: state.connections.count, channel: channel, record: self)
                state.connections.append(connection)
                return connection
            }
        }

        func noteReceived(_ envelope: Envelope, on connection: Int) {
            let now = ContinuousClock.now
            self.state.withLock { $0.received.append(Received(connection: connection, envelope: envelope, at: now)) }
        }

        func noteSent(_ type: MessageType, on connection: Int) {
            let now = ContinuousClock.now
            self.state.withLock { $0.sent.append(Sent(connection: connection, type: type, at: now)) }
        }

        func noteClosed(_ connection: Int) {
            let now = ContinuousClock.now
            self.state.withLock { $0.closedAt[connection] = now }
        }

        func noteBadFrame(_ detail: String) { self.state.withLock { $0.badFrames.append(detail) } }

        var received: [Received] { self.state.withLock { $0.received } }
        var sent: [Sent] { self.state.withLock { $0.sent } }
        var connections: [ScriptedConnection] { self.state.withLock { $0.connections } }
        var badFrames: [String] { self.state.withLock { $0.badFrames } }
        func closedAt(_ connection: Int) -> ContinuousClock.Instant? { self.state.withLock { $0.closedAt[connection] } }
    }

    let port: Int
    private let channel: any Channel
    private let record: Record

    static func start(script: @escaping Script) async throws -> ScriptedServer {
        let record = Record()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = record.accept(channel)
                    try channel.pipeline.syncOperations.addVigilFraming(maxFrameSize: 1 << 20)
                    try channel.pipeline.syncOperations.addHandler(ScriptedHandler(connection: connection, record: record, script: script))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        return ScriptedServer(port: port, channel: channel, record: record)
    }

    private init(port: Int, channel: any Channel, record: Record) {
        self.port = port
        self.channel = channel
        self.record = record
    }

    var received: [Received] { self.record.received }
    func received(on connection: Int) -> [Received] { self.record.received.filter { $0.connection == connection } }
    func sent(on connection: Int) -> [Sent] { self.record.sent.filter { $0.connection == connection } }
    var connectionCount: Int { self.record.connections.count }
    func connection(_ index: Int) -> ScriptedConnection? {
        let connections = self.record.connections
        return connections.indices.contains(index) ? connections[index] : nil
    }
    func closedAt(_ connection: Int) -> ContinuousClock.Instant? { self.record.closedAt(connection) }
    var badFrames: [String] { self.record.badFrames }

    /// The heartbeats received on one connection, in order.
    func heartbeats(on connection: Int) -> [(seq: UInt64, at: ContinuousClock.Instant)] {
        self.received(on: connection).compactMap { item in
            if case .heartbeat(let heartbeat) = item.envelope.body { return (heartbeat.seq, item.at) }
            return nil
        }
    }

    func stop() async {
        try? await self.channel.close()
        for connection in self.record.connections { await connection.closeAndWait() }
    }
}

/// One accepted connection of a ``ScriptedServer``.
private final class ScriptedConnection: Sendable {
    let index: Int
    private let channel: any Channel
    private let record: ScriptedServer.Record

    init(index: Int, channel: any Channel, record: ScriptedServer.Record) {
        self.index = index
        self.channel = channel
        self.record = record
    }

    /// Sends one envelope (after `delay`, if given), optionally closing the connection once it is written.
    func send(_ body: Envelope.Body, after delay: TimeAmount? = nil, thenClose: Bool = false) {
        guard let delay else { return self.write(body, thenClose: thenClose) }
        self.channel.eventLoop.scheduleTask(in: delay) { self.write(body, thenClose: thenClose) }
    }

    func close() { self.channel.close(promise: nil) }

    func closeAndWait() async { try? await self.channel.close() }

    private func write(_ body: Envelope.Body, thenClose: Bool) {
        let envelope = Envelope(body, senderID: "scripted-server", timestamp: Date().timeIntervalSince1970, messageID: UUID().uuidString.lowercased())
        self.record.noteSent(body.type, on: self.index)
        let written = self.channel.writeAndFlush(envelope.encodedFrame())
        if thenClose {
            written.whenComplete { _ in self.channel.close(promise: nil) }
        }
    }
}

/// Decodes each frame, records it, and hands it to the script.
private final class ScriptedHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    let connection: ScriptedConnection
    let record: ScriptedServer.Record
    let script: ScriptedServer.Script

    init(connection: ScriptedConnection, record: ScriptedServer.Record, script: @escaping ScriptedServer.Script) {
        self.connection = connection
        self.record = record
        self.script = script
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        let envelope: Envelope
        do {
            switch try InboundFrame.parse(frame) {
            case .envelope(let parsed): envelope = parsed
            }
        } catch {
            self.record.noteBadFrame("connection \(self.connection.index): \(error)")
            return
        }
        self.record.noteReceived(envelope, on: self.connection.index)
        self.script(self.connection, envelope)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.record.noteClosed(self.connection.index)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset from the agent closing mid-write is expected in some scenarios; just close.
        context.close(promise: nil)
    }
}

private extension ServerResponsePayload {
    /// A successful register reply with the given heartbeat interval (seconds).
    static func registered(interval: Double) -> ServerResponsePayload {
        ServerResponsePayload(success: true, message: "registered", session: SessionParameters(
            clientID: testHostname, hostname: testHostname, serverID: "scripted-server",
            protocolVersion: ProtocolVersion.current, heartbeatInterval: interval, maxFrameSize: 1 << 20
        ))
    }

    /// The answer to `CLIENT_UNREGISTER`.
    static var goodbye: ServerResponsePayload { ServerResponsePayload(success: true, message: "goodbye") }
}

private extension HeartbeatAckPayload {
    static func ack(_ seq: UInt64) -> HeartbeatAckPayload {
        HeartbeatAckPayload(seq: seq, serverTime: Date().timeIntervalSince1970)
    }
}
