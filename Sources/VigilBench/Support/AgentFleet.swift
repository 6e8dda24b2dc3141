import Foundation
import NIOCore
import NIOPosix
import Synchronization
import VigilConnection
import VigilProtocol

/// What the simulated agents heard back from the server, across all connections.
final class FleetCounters: Sendable {
    struct Snapshot: Sendable {
        var heartbeatAcks: Int
        /// Non-fatal `SERVER_RESPONSE`s with `success: false` after registration (refused samples), by code.
        var refusals: [String: Int]
        var firstRefusal: String?
        /// Connections that closed while the benchmark still needed them.
        var disconnects: Int
        var firstDisconnect: String?
    }

    private let state = Mutex(Snapshot(heartbeatAcks: 0, refusals: [:], firstRefusal: nil, disconnects: 0, firstDisconnect: nil))
    /// Set before the benchmark closes its own connections, so those closes are not counted.
    let closing = Atomic<Bool>(false)

    var snapshot: Snapshot { self.state.withLock { $0 } }

    func ack() { self.state.withLock { $0.heartbeatAcks += 1 } }

    func refusal(host: String, code: String, message: String) {
        self.state.withLock { state in
            state.refusals[code, default: 0] += 1
            if state.firstRefusal == nil { state.firstRefusal = "\(host): \(code): \(message)" }
        }
    }

    func disconnect(host: String, why: String) {
        guard !self.closing.load(ordering: .relaxed) else { return }
        self.state.withLock { state in
            state.disconnects += 1
            if state.firstDisconnect == nil { state.firstDisconnect = "\(host): \(why)" }
        }
    }
}

/// One simulated agent: a real TCP connection, registered under its own hostname, with its
/// host's figures advanced sample by sample on the connection's event loop.
final class SimulatedAgent: Sendable {
    let index: Int
    let hostname: String
    let channel: any Channel
    private let samples: SampleWriter

    init(index: Int, hostname: String, channel: any Channel, samples: SampleWriter) {
        self.index = index
        self.hostname = hostname
        self.channel = channel
        self.samples = samples
    }

    /// Writes `count` consecutive samples, `intervalMs` apart from `firstMs` (must run on the event loop).
    /// - Returns: Bytes written, framing included.
    func writeSamples(firstMs: Int64, intervalMs: Int64, count: Int) -> Int {
        self.samples.write(to: self.channel, firstMs: firstMs, intervalMs: intervalMs, count: count, flush: true)
    }
}

/// One host's METRICS frames: its simulator and sequence number, touched only on the event loop
/// of its connection (shared by the backfill path and the live cadence of ``LiveMetrics``).
final class SampleWriter: Sendable {
    let index: Int
    let hostname: String
    private let simulator: NIOLoopBoundBox<HostSimulator>
    private let sequence: NIOLoopBoundBox<Int>

    init(index: Int, hostname: String, eventLoop: any EventLoop, simulator: HostSimulator) {
        self.index = index
        self.hostname = hostname
        self.simulator = .makeBoxSendingValue(simulator, eventLoop: eventLoop)
        self.sequence = .makeBoxSendingValue(0, eventLoop: eventLoop)
    }

    /// Writes `count` consecutive samples, `intervalMs` apart from `firstMs` (must run on the event loop).
    /// - Returns: Bytes written, framing included.
    func write(to channel: any Channel, firstMs: Int64, intervalMs: Int64, count: Int, flush: Bool) -> Int {
        channel.eventLoop.preconditionInEventLoop()
        var bytes = 0
        for offset in 0..<count {
            var buffer = channel.allocator.buffer(capacity: 4096)
            self.sequence.value += 1
            self.simulator.value.writeEnvelope(into: &buffer, hostname: self.hostname, hostIndex: self.index,
                                               timestampMs: firstMs + Int64(offset) * intervalMs, sequence: self.sequence.value)
            self.simulator.value.advance(seconds: Double(intervalMs) / 1000)
            bytes += buffer.readableBytes + 4
            channel.write(buffer, promise: nil)
        }
        if flush { channel.flush() }
        return bytes
    }
}

/// Live samples, as a running agent sends them: a METRICS frame stamped with the current time
/// written just before every `everyHeartbeats`-th heartbeat (agent i on the ticks where
/// (seq + i) is a multiple, so the fleet's samples are spread over the ticks).
///
/// Each such sample is timed from the write to the acknowledgement of the heartbeat that follows
/// it on the same connection: the server handles a connection's frames in order and takes a
/// sample (latest-sample cache updated, so visible in `GET /api/servers/{h}/current`; queued for
/// the next batched write) before it reads the next frame, so this is send → visible plus the
/// acknowledgement's way back — an upper bound, on one clock, for every sample.
struct LiveMetrics: Sendable {
    var everyHeartbeats: Int
    var latency: LatencyRecorder
}

/// Many simulated agents on one event loop group, connected in parallel batches.
final class AgentFleet: Sendable {
    let counters = FleetCounters()
    private let group: MultiThreadedEventLoopGroup
    private let port: Int
    /// Dials the server (TLS with `--tls`); its TLS context is shared by the whole fleet.
    private let dialer: Result<ServerDialer, any Error>
    private let agents = Mutex<[SimulatedAgent]>([])

    private let rateDecimals: Int?

    /// When set, the connections' source addresses are spread over 127.0.0.0/8, this many per
    /// address, so more than the ~28,000 ephemeral ports of one address pair can be held.
    private let connectionsPerSource: Int?

    /// When set, agents send samples on their heartbeat cadence (the `ingest` scenario).
    private let live: LiveMetrics?

    init(group: MultiThreadedEventLoopGroup, port: Int, rateDecimals: Int? = nil, connectionsPerSource: Int? = nil, live: LiveMetrics? = nil, tls: ClientTLS? = nil) {
        self.group = group
        self.port = port
        self.dialer = Result {
            var dialer = try ServerDialer(maxFrameSize: 16 << 20, tls: tls)
            dialer.keepAlive = false
            return dialer
        }
        self.rateDecimals = rateDecimals
        self.connectionsPerSource = connectionsPerSource
        self.live = live
    }

    /// The source address of agent `index`: 127.0.0.1 for the first `perSource`, then 127.0.0.2, ….
    static func sourceAddress(for index: Int, perSource: Int) -> String {
        let block = index / perSource + 1
        return "127.\((block >> 16) & 0xFF).\((block >> 8) & 0xFF).\(block & 0xFF)"
    }

    var all: [SimulatedAgent] { self.agents.withLock { $0 } }

    /// Connects and registers one agent per name, `batch` at a time; each must be registered
    /// within `timeout` or the whole step fails.
    ///
    /// - Parameters:
    ///   - hosts: (index, hostname, first sample time) of each agent to create.
    /// - Returns: The new agents, in the order given.
    func connect(_ hosts: [(index: Int, hostname: String, startMs: Int64)], batch: Int, timeout: Duration) async throws -> [SimulatedAgent] {
        var made: [SimulatedAgent] = []
        made.reserveCapacity(hosts.count)
        var start = 0
        while start < hosts.count {
            let slice = hosts[start..<min(start + batch, hosts.count)]
            let connected = try await withThrowingTaskGroup(of: SimulatedAgent.self) { group in
                for host in slice {
                    group.addTask { try await self.connectOne(index: host.index, hostname: host.hostname, startMs: host.startMs, timeout: timeout) }
                }
                var batch: [SimulatedAgent] = []
                for try await agent in group { batch.append(agent) }
                return batch
            }
            made += connected.sorted { $0.index < $1.index }
            start += batch
        }
        self.agents.withLock { $0 += made }
        return made
    }

    private func connectOne(index: Int, hostname: String, startMs: Int64, timeout: Duration) async throws -> SimulatedAgent {
        let counters = self.counters
        let loop = self.group.next()
        let registered = loop.makePromise(of: SessionParameters.self)
        let samples = SampleWriter(index: index, hostname: hostname, eventLoop: loop,
                                   simulator: HostSimulator(seed: UInt64(index), startMs: startMs, rateDecimals: self.rateDecimals))
        let live = self.live.map { (settings: $0, samples: samples) }
        let channel: any Channel
        do {
            var dialer = try self.dialer.get()
            dialer.connectTimeout = timeout
            if let perSource = self.connectionsPerSource {
                dialer.sourceAddress = try SocketAddress(ipAddress: Self.sourceAddress(for: index, perSource: perSource), port: 0)
            }
            channel = try await dialer.connect(to: ServerAddress(host: "127.0.0.1", port: self.port), group: loop) { pipeline in
                try pipeline.addHandler(AgentHandler(hostname: hostname, registered: registered, counters: counters, live: live))
            }
        } catch {
            registered.fail(error)
            throw BenchmarkError("agent \(hostname): cannot connect to 127.0.0.1:\(self.port): \(error)")
        }
        let timer = loop.scheduleTask(in: timeout.timeAmount) {
            registered.fail(BenchmarkError("agent \(hostname): no register reply within \(timeout)"))
        }
        defer { timer.cancel() }
        do {
            _ = try await registered.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        return SimulatedAgent(index: index, hostname: hostname, channel: channel, samples: samples)
    }

    /// Writes samples `first..<first+count` of every agent given, all agents of one event loop in
    /// one task on that loop (so encoding runs on every loop in parallel, with no hop per frame).
    ///
    /// - Returns: Bytes written.
    func send(_ agents: [SimulatedAgent], firstMs: Int64, intervalMs: Int64, count: Int) async throws -> Int {
        var byLoop: [ObjectIdentifier: (loop: any EventLoop, agents: [SimulatedAgent])] = [:]
        for agent in agents {
            let key = ObjectIdentifier(agent.channel.eventLoop)
            byLoop[key, default: (agent.channel.eventLoop, [])].agents.append(agent)
        }
        var futures: [EventLoopFuture<Int>] = []
        for (_, entry) in byLoop {
            let agents = entry.agents
            futures.append(entry.loop.submit {
                var bytes = 0
                for agent in agents { bytes += agent.writeSamples(firstMs: firstMs, intervalMs: intervalMs, count: count) }
                return bytes
            })
        }
        var total = 0
        for future in futures { total += try await future.get() }
        return total
    }

    /// Stops an agent's heartbeats and leaves its connection open: a hung host, as `kill -STOP` makes one.
    func silence(_ agent: SimulatedAgent) async throws {
        try await agent.channel.eventLoop.flatSubmit {
            agent.channel.pipeline.handler(type: AgentHandler.self).map { $0.stopHeartbeats() }
        }.get()
    }

    /// Closes an agent's connection without a goodbye: a crashed agent (its socket closes).
    func kill(_ agent: SimulatedAgent) {
        agent.channel.close(promise: nil)
    }

    /// Closes every connection (the server is about to be stopped; nothing is unregistered).
    func closeAll() async {
        self.counters.closing.store(true, ordering: .relaxed)
        let agents = self.all
        for agent in agents { agent.channel.close(promise: nil) }
        for agent in agents { try? await agent.channel.closeFuture.get() }
    }
}

/// The agent side of the protocol: register, heartbeat at the server's interval, count answers.
private final class AgentHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let hostname: String
    private let registered: EventLoopPromise<SessionParameters>
    private let counters: FleetCounters
    private var isRegistered = false
    private var heartbeatSeq: UInt64 = 0
    private var heartbeats: RepeatedTask?
    private var fatalAnswer: String?
    private let live: (settings: LiveMetrics, samples: SampleWriter)?
    private var heartbeatInterval = 1.0
    /// The heartbeat sent right after the last live sample, and when the sample was written.
    private var probe: (seq: UInt64, sentAt: NIODeadline)?

    init(hostname: String, registered: EventLoopPromise<SessionParameters>, counters: FleetCounters, live: (settings: LiveMetrics, samples: SampleWriter)?) {
        self.hostname = hostname
        self.registered = registered
        self.counters = counters
        self.live = live
    }

    func channelActive(context: ChannelHandlerContext) {
        let register = Envelope(
            .clientRegister(RegisterPayload(key: nil, hostname: self.hostname, capabilities: ["heartbeat", "metrics"], agentVersion: "vigil-bench/1")),
            senderID: self.hostname, timestamp: Date().timeIntervalSince1970, messageID: UUID().uuidString.lowercased())
        context.writeAndFlush(self.wrapOutboundOut(register.encodedFrame(allocator: context.channel.allocator)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(jsonFrame: self.unwrapInboundIn(data))
        } catch {
            self.counters.refusal(host: self.hostname, code: "unreadable_frame", message: "\(error)")
            return
        }
        switch envelope.body {
        case .serverResponse(let response) where !self.isRegistered:
            if response.success, let session = response.session {
                self.isRegistered = true
                self.registered.succeed(session)
                self.startHeartbeats(context, interval: session.heartbeatInterval)
            } else {
                self.registered.fail(BenchmarkError("agent \(self.hostname): registration refused: \(response.code?.rawValue ?? "no code"): \(response.message)"))
                context.close(promise: nil)
            }
        case .serverResponse(let response):
            if !response.success {
                self.counters.refusal(host: self.hostname, code: response.code?.rawValue ?? "unknown", message: response.message)
            }
            if response.fatal {
                self.fatalAnswer = "fatal answer \(response.code?.rawValue ?? "-"): \(response.message)"
            }
        case .heartbeatAck(let ack):
            self.counters.ack()
            if let probe = self.probe, probe.seq == ack.seq, let live = self.live {
                live.settings.latency.record(nanoseconds: (NIODeadline.now() - probe.sentAt).nanoseconds)
                self.probe = nil
            }
        default:
            break
        }
    }

    /// The first heartbeat at once (the host becomes HEALTHY), then one per interval.
    private func startHeartbeats(_ context: ChannelHandlerContext, interval: Double) {
        self.heartbeatInterval = interval
        self.sendHeartbeat(context.channel)
        let interval = TimeAmount.nanoseconds(Int64(min(max(interval, 0.1), 3600) * 1e9))
        let channel = context.channel
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.heartbeats = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            handler.value.sendHeartbeat(channel)
        }
    }

    private func sendHeartbeat(_ channel: any Channel) {
        self.heartbeatSeq += 1
        if let live = self.live, (self.heartbeatSeq + UInt64(live.samples.index)) % UInt64(live.settings.everyHeartbeats) == 0 {
            let intervalMs = Int64((self.heartbeatInterval * Double(live.settings.everyHeartbeats) * 1000).rounded())
            let sentAt = NIODeadline.now()
            _ = live.samples.write(to: channel, firstMs: Int64(Date().timeIntervalSince1970 * 1000), intervalMs: intervalMs, count: 1, flush: false)
            // An earlier sample still unanswered is simply not timed (its heartbeat's answer is late or lost).
            self.probe = (self.heartbeatSeq, sentAt)
        }
        let heartbeat = Envelope(.heartbeat(HeartbeatPayload(seq: self.heartbeatSeq)), senderID: self.hostname, timestamp: Date().timeIntervalSince1970)
        channel.writeAndFlush(heartbeat.encodedFrame(allocator: channel.allocator), promise: nil)
    }

    /// Sends no more heartbeats (the connection stays open).
    func stopHeartbeats() {
        self.heartbeats?.cancel()
        self.heartbeats = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.heartbeats?.cancel()
        if self.isRegistered {
            self.counters.disconnect(host: self.hostname, why: self.fatalAnswer ?? "connection closed by the server")
        } else {
            self.registered.fail(BenchmarkError("agent \(self.hostname): connection closed before the register reply"))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.counters.disconnect(host: self.hostname, why: "error: \(error)")
        context.close(promise: nil)
    }
}
