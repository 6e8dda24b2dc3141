import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import VigilAgent
import VigilConnection
import VigilMetrics
import VigilProtocol

/// The agent's session logic (register, heartbeats, acks, goodbye, refusals, reconnects, failover,
/// backoff, metrics), driven in-process against a scripted fake server that records everything it receives.
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

    // MARK: 9. Metrics

    @Test("after registration METRICS go out every interval on a fixed cadence, each the sampler's document; the sampler runs off the event loops, one call at a time")
    func metricsAtInterval() async throws {
        // Each sample blocks 60 ms, as reading /proc does: a schedule of "sleep an interval after
        // each sample" would drift by 60 ms per sample.
        let sampler = TestSampler(work: .milliseconds(60))
        try await withScriptedServer(welcoming) { server in
            try await withAgent(ports: [server.port], sampler: sampler, { $0.metricsInterval = .milliseconds(200) }) { agent in
                let register = try await waitFor("CLIENT_REGISTER") { server.received(on: 0).first }
                guard case .clientRegister(let payload) = register.envelope.body else {
                    Issue.record("the first frame must be CLIENT_REGISTER, got \(register.envelope.type)")
                    return
                }
                #expect(payload.capabilities == ["heartbeat", "metrics", SessionParameters.updateCapability, RegisterPayload.redirectCapability])

                let metrics = try await waitFor("six METRICS") {
                    let metrics = server.metrics(on: 0)
                    return metrics.count >= 6 ? metrics : nil
                }
                // Every sample taken while registered is sent, unchanged and in order: the received
                // documents are a run of consecutive samples.
                let produced = sampler.produced
                let first = try #require(produced.firstIndex(of: metrics[0].document), "the first METRICS is not a document the sampler produced")
                #expect(Array(produced[first..<min(first + 6, produced.count)]) == metrics.prefix(6).map(\.document))
                let replySent = try #require(server.sent(on: 0).first { $0.type == .serverResponse }?.at)
                #expect(metrics.allSatisfy { $0.at >= replySent }, "a METRICS frame came before the register reply")
                // About every 200 ms (wide margins for a loaded machine).
                let meanGap = (metrics[5].at - metrics[1].at) / 4
                #expect(meanGap >= .milliseconds(150) && meanGap <= .milliseconds(600), "mean METRICS gap \(meanGap)")

                // No drift: call k starts at first call + k × 200 ms plus one wake-up's latency
                // (not k of them, and not k × 60 ms of sampling work).
                let calls = try await waitFor("seven samples") {
                    let calls = sampler.callTimes
                    return calls.count >= 7 ? calls : nil
                }
                let span = calls[6] - calls[0]
                #expect(span >= .milliseconds(1150) && span < .milliseconds(1390), "six intervals took \(span); expected 1.2 s plus one wake-up")
                #expect(!sampler.calledOnEventLoop, "the sampler ran on a NIO event loop")
                #expect(sampler.maxConcurrentCalls == 1, "the sampler was called concurrently")

                agent.shutdown.request()
                #expect(try await agent.exit(within: .seconds(10)).exit == .shutDown)
                #expect(server.received(on: 0).last?.envelope.type == .clientUnregister, "nothing may follow the goodbye")
                let statistics = try #require(agent.agent.metricsStatistics)
                #expect(statistics.sampled == sampler.callTimes.count)
                #expect(statistics.sent >= server.metrics(on: 0).count)
            }
        }
    }

    @Test("no METRICS before the register reply: samples taken while registering are dropped, counted and logged at debug level")
    func noMetricsBeforeRegistration() async throws {
        let sampler = TestSampler()
        try await withScriptedServer({ connection, envelope in
            switch envelope.body {
            // The reply comes 500 ms late: about five samples fall in the wait.
            case .clientRegister: connection.send(.serverResponse(.registered(interval: 0.2)), after: .milliseconds(500))
            case .heartbeat(let heartbeat): connection.send(.heartbeatAck(.ack(heartbeat.seq)))
            case .clientUnregister: connection.send(.serverResponse(.goodbye))
            default: break
            }
        }) { server in
            try await withAgent(ports: [server.port], sampler: sampler, { $0.metricsInterval = .milliseconds(100) }) { agent in
                _ = try await waitFor("two METRICS") { server.metrics(on: 0).count >= 2 ? true : nil }
                let replySent = try #require(server.sent(on: 0).first { $0.type == .serverResponse }?.at)
                let beforeReply = server.received(on: 0).filter { $0.at < replySent }.map(\.envelope.type)
                #expect(beforeReply == [.clientRegister], "frames before the register reply: \(beforeReply)")
                let statistics = try #require(agent.agent.metricsStatistics)
                #expect(statistics.droppedNotRegistered >= 3, "\(statistics)")
                #expect(agent.logs.contains("debug metrics sample dropped: not registered"), "logs: \(agent.logs.all)")
                agent.shutdown.request()
                #expect(try await agent.exit(within: .seconds(10)).exit == .shutDown)
            }
        }
    }

    @Test(
        "metrics off (an interval of zero, or no sampler): no METRICS, no \"metrics\" capability, the sampler never called",
        arguments: [true, false]
    )
    func metricsDisabled(withSampler: Bool) async throws {
        let sampler = TestSampler()
        try await withScriptedServer(welcoming) { server in
            try await withAgent(
                ports: [server.port], sampler: withSampler ? sampler : nil,
                // With a sampler the interval is zero; without one it is short, to show the sampler is what counts.
                { $0.metricsInterval = withSampler ? .zero : .milliseconds(100) }
            ) { agent in
                #expect(!agent.agent.metricsEnabled)
                #expect(agent.agent.metricsStatistics == nil)
                // Four heartbeats (0.6 s at 0.2 s): at least five sampling periods of 100 ms would have passed.
                _ = try await waitFor("four heartbeats") { server.heartbeats(on: 0).count >= 4 ? true : nil }
                guard case .clientRegister(let payload)? = server.received(on: 0).first?.envelope.body else {
                    Issue.record("the first frame must be CLIENT_REGISTER")
                    return
                }
                #expect(payload.capabilities == ["heartbeat", SessionParameters.updateCapability, RegisterPayload.redirectCapability])
                #expect(server.metrics(on: 0).isEmpty)
                #expect(sampler.callTimes.isEmpty, "the sampler was called \(sampler.callTimes.count) times")
                agent.shutdown.request()
                #expect(try await agent.exit(within: .seconds(10)).exit == .shutDown)
            }
        }
    }

    @Test("a non-fatal rate_limited refusal of METRICS does not end the session, and is not logged once per sample")
    func metricsRateLimited() async throws {
        try await withScriptedServer({ connection, envelope in
            switch envelope.body {
            case .clientRegister: connection.send(.serverResponse(.registered(interval: 0.2)))
            case .heartbeat(let heartbeat): connection.send(.heartbeatAck(.ack(heartbeat.seq)))
            case .metrics:
                connection.send(.serverResponse(ServerResponsePayload(
                    success: false, message: "more than 2 samples per second", code: .rateLimited, inReplyTo: envelope.messageID, fatal: false
                )))
            case .clientUnregister: connection.send(.serverResponse(.goodbye))
            default: break
            }
        }) { server in
            try await withAgent(ports: [server.port], sampler: TestSampler(), { $0.metricsInterval = .milliseconds(100) }) { agent in
                _ = try await waitFor("six refusals handled by the agent") { (agent.agent.metricsStatistics?.refused ?? 0) >= 6 ? true : nil }
                // The session goes on: more heartbeats and samples after the refusals.
                let (beats, samples) = (server.heartbeats(on: 0).count, server.metrics(on: 0).count)
                _ = try await waitFor("another heartbeat and another METRICS") {
                    server.heartbeats(on: 0).count > beats && server.metrics(on: 0).count > samples ? true : nil
                }
                #expect(server.connectionCount == 1)
                #expect(!agent.logs.contains("session ended"), "logs: \(agent.logs.all)")
                let warnings = agent.logs.all.filter { $0.hasPrefix("warning ") }
                #expect(warnings.count == 1, "one warning for six or more refusals within a minute, got: \(warnings)")
                #expect(warnings.first?.contains("server refused a metrics sample") == true && warnings.first?.contains("code=rate_limited") == true)
                agent.shutdown.request()
                #expect(try await agent.exit(within: .seconds(10)).exit == .shutDown)
            }
        }
    }

    @Test("a server without METRICS (unknown_type): the agent stops sending samples on that connection instead of piling up protocol errors")
    func metricsUnknownToServer() async throws {
        try await withScriptedServer({ connection, envelope in
            switch envelope.body {
            case .clientRegister: connection.send(.serverResponse(.registered(interval: 0.1)))
            case .heartbeat(let heartbeat): connection.send(.heartbeatAck(.ack(heartbeat.seq)))
            // What a server older than METRICS answers: unknown type, not fatal, no in_reply_to.
            case .metrics:
                connection.send(.serverResponse(ServerResponsePayload(success: false, message: "unknown message type \"METRICS\"", code: .unknownType)))
            case .clientUnregister: connection.send(.serverResponse(.goodbye))
            default: break
            }
        }) { server in
            try await withAgent(ports: [server.port], sampler: TestSampler(), { $0.metricsInterval = .milliseconds(100) }) { agent in
                _ = try await waitFor("the first METRICS") { server.metrics(on: 0).first }
                // Ten more heartbeats at 0.1 s: about ten sampling periods.
                let beats = server.heartbeats(on: 0).count
                _ = try await waitFor("ten more heartbeats") { server.heartbeats(on: 0).count >= beats + 10 ? true : nil }
                // One sample may have been on its way when the answer to the first arrived.
                #expect(server.metrics(on: 0).count <= 2, "\(server.metrics(on: 0).count) METRICS after unknown_type")
                #expect(server.connectionCount == 1)
                #expect(agent.logs.all.filter { $0.contains("does not accept METRICS") }.count == 1, "logs: \(agent.logs.all)")
                agent.shutdown.request()
                #expect(try await agent.exit(within: .seconds(10)).exit == .shutDown)
            }
        }
    }

    @Test("sampling goes on across a reconnect with the same sampler: its count carries on, one call at a time")
    func metricsAcrossReconnect() async throws {
        let sampler = TestSampler()
        let firstConnectionMetrics = Mutex(0)
        try await withScriptedServer({ connection, envelope in
            switch envelope.body {
            case .clientRegister: connection.send(.serverResponse(.registered(interval: 0.2)))
            case .heartbeat(let heartbeat): connection.send(.heartbeatAck(.ack(heartbeat.seq)))
            case .metrics where connection.index == 0:
                // The first connection is dropped after its third sample, as by a server restart.
                if firstConnectionMetrics.withLock({ $0 += 1; return $0 }) == 3 { connection.close() }
            case .clientUnregister: connection.send(.serverResponse(.goodbye))
            default: break
            }
        }) { server in
            try await withAgent(ports: [server.port], sampler: sampler, { $0.metricsInterval = .milliseconds(100) }) { agent in
                let second = try await waitFor("three METRICS on the second connection") {
                    let metrics = server.metrics(on: 1)
                    return metrics.count >= 3 ? metrics : nil
                }
                let first = server.metrics(on: 0)
                #expect(first.count >= 3)
                let numbers = (first + second).map { $0.document.processes?.total ?? -1 }
                // One sampler, never restarted: numbers keep increasing from one connection to the next.
                #expect(numbers.first == numbers.first.map { _ in numbers.min() }, "\(numbers)")
                #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $0 < $1 }, "sample numbers across the reconnect: \(numbers)")
                // Only the samples taken during the short outage are missing (100 ms cadence, reconnect within 50 ms or so).
                let gap = (second.first?.document.processes?.total ?? 0) - (first.last?.document.processes?.total ?? 0)
                #expect(gap >= 1 && gap <= 20, "\(gap - 1) samples missing across the reconnect: \(numbers)")
                #expect(second.allSatisfy { $0.document.processes?.total ?? 0 > 3 }, "the second session's samples restarted the count: \(numbers)")
                #expect(sampler.maxConcurrentCalls == 1, "the sampler was called concurrently")
                agent.shutdown.request()
                #expect(try await agent.exit(within: .seconds(10)).exit == .shutDown)
                #expect(agent.agent.metricsStatistics?.sampled == sampler.callTimes.count)
            }
        }
    }

    @Test("a sample whose frame exceeds the server's max_frame_size is not sent, with one warning naming its size")
    func metricsOverMaxFrameSize() async throws {
        // Odd samples carry 100 processes (several kB), even ones none (well under 1 kB).
        let sampler = TestSampler { number in TestSampler.document(number: number, processes: number.isMultiple(of: 2) ? 0 : 100) }
        try await withScriptedServer({ connection, envelope in
            switch envelope.body {
            case .clientRegister: connection.send(.serverResponse(.registered(interval: 0.2, maxFrameSize: 4096)))
            case .heartbeat(let heartbeat): connection.send(.heartbeatAck(.ack(heartbeat.seq)))
            case .clientUnregister: connection.send(.serverResponse(.goodbye))
            default: break
            }
        }) { server in
            try await withAgent(ports: [server.port], sampler: sampler, { $0.metricsInterval = .milliseconds(100) }) { agent in
                _ = try await waitFor("three small METRICS") { server.metrics(on: 0).count >= 3 ? true : nil }
                _ = try await waitFor("two oversized samples dropped") { (agent.agent.metricsStatistics?.droppedOversized ?? 0) >= 2 ? true : nil }
                let numbers = server.metrics(on: 0).map { $0.document.processes?.total ?? -1 }
                #expect(numbers.allSatisfy { $0.isMultiple(of: 2) }, "an oversized sample was sent: \(numbers)")
                let warnings = agent.logs.all.filter { $0.hasPrefix("warning ") }
                #expect(warnings.count == 1, "one warning, however many samples are too large: \(warnings)")
                let warning = try #require(warnings.first)
                #expect(warning.contains("max_frame_size=4096"), "\(warning)")
                let size = warning.split(separator: " ").first { $0.hasPrefix("size=") }.flatMap { Int($0.dropFirst(5)) }
                #expect((size ?? 0) > 4096, "the warning names the frame's size: \(warning)")
                #expect(server.connectionCount == 1)
                agent.shutdown.request()
                #expect(try await agent.exit(within: .seconds(10)).exit == .shutDown)
            }
        }
    }

    @Test("the sampling schedule: next = previous + interval, missed ticks skipped rather than made up, no drift")
    func metricsSchedule() {
        let start = ContinuousClock.now
        let interval = Duration.milliseconds(200)
        // On time.
        #expect(MetricsPipeline.nextTick(after: start, interval: interval, now: start + .milliseconds(50)) == (start + interval, 0))
        // A 450 ms sample misses the ticks at 200 and 400 ms: the next is at 600 ms, not at once.
        #expect(MetricsPipeline.nextTick(after: start, interval: interval, now: start + .milliseconds(450)) == (start + .milliseconds(600), 2))
        #expect(MetricsPipeline.nextTick(after: start, interval: interval, now: start + interval) == (start + .milliseconds(400), 1))
        // Late wake-ups do not add up: after ten ticks, each handled 30 ms late, the grid is where it started.
        var tick = start
        for _ in 0..<10 { tick = MetricsPipeline.nextTick(after: tick, interval: interval, now: tick + .milliseconds(30)).tick }
        #expect(tick == start + interval * 10)
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
    let agent: VigilAgent
    private let outcome: OutcomeBox
    private let task: Task<Void, Never>

    init(settings: AgentSettings, sampler: (any MetricsSampler)? = nil) {
        let shutdown = ShutdownSignal()
        let logs = LogCapture()
        let outcome = OutcomeBox()
        let agent = VigilAgent(settings: settings, shutdown: shutdown, logger: logs.logger, group: MultiThreadedEventLoopGroup.singleton, sampler: sampler)
        self.agent = agent
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
    sampler: (any MetricsSampler)? = nil,
    _ configure: (inout AgentSettings) -> Void = { _ in },
    _ body: (AgentRun) async throws -> Void
) async throws {
    var settings = agentSettings(ports: ports)
    configure(&settings)
    let agent = AgentRun(settings: settings, sampler: sampler)
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

/// A sampler that numbers its samples (`processes.total` = call number, from 1) and records how
/// it was called: when, on which kind of thread, how many at once.
private final class TestSampler: MetricsSampler {
    private struct State {
        var callTimes: [ContinuousClock.Instant] = []
        var produced: [MetricsDocument] = []
        var calledOnEventLoop = false
        var inFlight = 0
        var maxInFlight = 0
    }

    private let state = Mutex(State())
    private let work: Duration
    private let make: @Sendable (Int) -> MetricsDocument

    /// - Parameters:
    ///   - work: How long each sample blocks its thread, like reading /proc.
    ///   - make: The document for call number n.
    init(work: Duration = .zero, make: @escaping @Sendable (Int) -> MetricsDocument = { TestSampler.document(number: $0) }) {
        self.work = work
        self.make = make
    }

    func sample() -> MetricsDocument {
        let number = self.state.withLock { state in
            state.callTimes.append(.now)
            state.inFlight += 1
            state.maxInFlight = max(state.maxInFlight, state.inFlight)
            if MultiThreadedEventLoopGroup.currentEventLoop != nil { state.calledOnEventLoop = true }
            return state.callTimes.count
        }
        if self.work > .zero { Thread.sleep(forTimeInterval: self.work.seconds) }
        let document = self.make(number)
        self.state.withLock { state in
            state.produced.append(document)
            state.inFlight -= 1
        }
        return document
    }

    var callTimes: [ContinuousClock.Instant] { self.state.withLock { $0.callTimes } }
    var produced: [MetricsDocument] { self.state.withLock { $0.produced } }
    var calledOnEventLoop: Bool { self.state.withLock { $0.calledOnEventLoop } }
    var maxConcurrentCalls: Int { self.state.withLock { $0.maxInFlight } }

    /// Sample `number`: fixed figures that survive a JSON round trip exactly, the number as
    /// `processes.total`, and `processes` entries in the top-CPU list (about 80 bytes each).
    static func document(number: Int, processes: Int = 0) -> MetricsDocument {
        var document = MetricsDocument(hostname: testHostname, timestamp: Date(timeIntervalSince1970: 1_718_000_000 + Double(number)))
        document.cpu = MetricsDocument.CPU(cpuPercentTotal: 12.5, cpuPercentPerCore: [10, 15], cpuCountLogical: 2, loadAverage: [0.5, 0.25, 0.125])
        document.memory = MetricsDocument.Memory(
            memoryTotal: 8 << 30, memoryAvailable: 5 << 30, memoryUsed: 3 << 30, memoryFree: 1 << 30, memoryPercent: 37.5,
            swapTotal: 1 << 30, swapUsed: 0, swapFree: 1 << 30, swapPercent: 0
        )
        document.processes = MetricsDocument.Processes(
            total: number,
            topCPU: (0..<processes).map { MetricsDocument.Processes.Process(pid: 1000 + $0, name: "worker-\($0)", user: "nobody", cpuPercent: 1.5, rss: 1 << 20) },
            topMemory: []
        )
        return document
    }
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

    /// The METRICS documents received on one connection, in order.
    func metrics(on connection: Int) -> [(document: MetricsDocument, at: ContinuousClock.Instant)] {
        self.received(on: connection).compactMap { item in
            if case .metrics(let document) = item.envelope.body { return (document, item.at) }
            return nil
        }
    }

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
            case .fileData: throw ProtocolViolation(.unexpectedType, "the fake server got file data")
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
    /// A successful register reply with the given heartbeat interval (seconds) and frame limit (bytes).
    static func registered(interval: Double, maxFrameSize: Int = 1 << 20) -> ServerResponsePayload {
        ServerResponsePayload(success: true, message: "registered", session: SessionParameters(
            clientID: testHostname, hostname: testHostname, serverID: "scripted-server",
            protocolVersion: ProtocolVersion.current, heartbeatInterval: interval, maxFrameSize: maxFrameSize
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
