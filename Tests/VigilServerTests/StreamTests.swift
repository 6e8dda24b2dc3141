import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
import VigilMetrics
import VigilStore
@testable import VigilServer

/// `GET /api/stream` against an in-process server, with real sign-in (`POST /api/auth/login`).
@Suite("Live stream", .serialized)
struct StreamTests {
    // MARK: Sign-in

    @Test("no auth message within stream.auth_timeout: closed with 4001")
    func authTimeout() async throws {
        try await TestServer.with({ StreamFixtures.configure(&$0); $0.stream.authTimeout = .milliseconds(300) }) { server in
            let started = ContinuousClock.now
            let client = StreamClient.connect(port: server.httpPort)
            let (code, reason) = try await client.closed()
            #expect(code == 4001)
            #expect(reason?.contains("authentication timeout") == true)
            #expect(ContinuousClock.now - started < .seconds(3))
        }
    }

    @Test("a bad token, or a request before auth: closed with 4001; a good one: ready, and again with a fresh token")
    func authRequired() async throws {
        try await TestServer.with(StreamFixtures.configure) { server in
            let bad = StreamClient.connect(port: server.httpPort)
            bad.send(["type": "auth", "token": "not-a-token"])
            var (code, reason) = try await bad.closed()
            #expect(code == 4001)
            #expect(reason == "invalid token")

            let early = StreamClient.connect(port: server.httpPort)
            early.send(["type": "subscribe", "topics": ["fleet"]])
            (code, reason) = try await early.closed()
            #expect(code == 4001)
            #expect(reason?.contains("authentication required") == true)

            let token = try await StreamFixtures.signIn(port: server.httpPort)
            let good = StreamClient.connect(port: server.httpPort)
            let ready = try await good.authenticate(token)
            let user = ready.json["user"] as? [String: Any]
            #expect(user?["name"] as? String == "admin")
            #expect(user?["role"] as? String == "admin")
            // Sliding: a fresh token later is taken too.
            let fresh = try await StreamFixtures.signIn(port: server.httpPort)
            _ = try await good.authenticate(fresh)
            try await good.subscribe(["fleet"])
            // A bad one later ends the stream.
            good.send(["type": "auth", "token": fresh + "x"])
            (code, _) = try await good.closed()
            #expect(code == 4001)
        }
    }

    @Test("a viewer may stream")
    func viewerStreams() async throws {
        try await TestServer.with(StreamFixtures.configure) { server in
            let admin = try await StreamFixtures.signIn(port: server.httpPort)
            let (status, _) = try await StreamFixtures.post(port: server.httpPort, path: "/api/users", body: ["name": "vera", "password": "viewer-password-1", "role": "viewer"], token: admin)
            #expect(status == 201)
            let token = try await StreamFixtures.signIn(port: server.httpPort, username: "vera", password: "viewer-password-1")
            let client = StreamClient.connect(port: server.httpPort)
            let ready = try await client.authenticate(token)
            #expect((ready.json["user"] as? [String: Any])?["role"] as? String == "viewer")
            await client.close()
        }
    }

    @Test("signing out ends the stream at the next session check (4001 session ended)")
    func sessionEnded() async throws {
        try await TestServer.with({ StreamFixtures.configure(&$0); $0.stream.sessionCheckInterval = .milliseconds(200) }) { server in
            let token = try await StreamFixtures.signIn(port: server.httpPort)
            let client = StreamClient.connect(port: server.httpPort)
            _ = try await client.authenticate(token)
            let (status, _) = try await StreamFixtures.post(port: server.httpPort, path: "/api/auth/logout", data: Data(), token: token)
            #expect(status == 204)
            let (code, reason) = try await client.closed(timeout: .seconds(5))
            #expect(code == 4001)
            #expect(reason == "session ended")
        }
    }

    @Test("a plain GET is 426; past stream.max_clients a stream is closed at once with 1013")
    func upgradeRefusals() async throws {
        try await TestServer.with({ StreamFixtures.configure(&$0); $0.stream.maxClients = 1 }) { server in
            let (status, _, json) = try await StreamFixtures.get(port: server.httpPort, path: "/api/stream")
            #expect(status == 426)
            #expect((json as? [String: Any])?["error"] as? String == "websocket_required")

            let token = try await StreamFixtures.signIn(port: server.httpPort)
            let first = StreamClient.connect(port: server.httpPort)
            _ = try await first.authenticate(token)
            let refused = StreamClient.connect(port: server.httpPort)
            let (code, reason) = try await refused.closed()
            #expect(code == 1013)
            #expect(reason?.contains("stream.max_clients") == true)
            #expect(server.server.live.statistics.clients == 1)
            await first.close()
            // The slot is free again once the first has gone.
            try await eventually(timeout: .seconds(5), "the first client to be removed") { server.server.live.statistics.clients == 0 }
            let second = StreamClient.connect(port: server.httpPort)
            _ = try await second.authenticate(token)
            await second.close()
        }
    }

    // MARK: Topics

    @Test("host:<name>: the sample arrives within 1 s of POST /api/metrics, exactly as /current shows it")
    func sampleWithinOneSecond() async throws {
        try await TestServer.with(StreamFixtures.configure) { server in
            let token = try await StreamFixtures.signIn(port: server.httpPort)
            let client = StreamClient.connect(port: server.httpPort)
            _ = try await client.authenticate(token)
            let subscribed = try await client.subscribe(["host:web-1"])
            #expect(subscribed.json["topics"] as? [String] == ["host:web-1"])

            let key = try await server.key(for: "web-1")
            let started = ContinuousClock.now
            let (status, _) = try await StreamFixtures.post(port: server.httpPort, path: "/api/metrics", data: try MetricsIngestTests.json(StreamFixtures.document(cpu: 42.5)), headers: ["X-API-Key": key])
            #expect(status == 200)
            let sample = try await client.next(type: "sample", timeout: .seconds(1))
            #expect(ContinuousClock.now - started < .seconds(1))
            #expect(sample.json["hostname"] as? String == "web-1")
            let (_, _, current) = try await StreamFixtures.get(port: server.httpPort, path: "/api/servers/web-1/current", token: token)
            let currentObject = current as? [String: Any]
            #expect(sample.json["received_at"] as? String == currentObject?["received_at"] as? String)
            let streamed = try JSONSerialization.data(withJSONObject: sample.json["metrics"] as Any, options: .sortedKeys)
            let served = try JSONSerialization.data(withJSONObject: currentObject?["metrics"] as Any, options: .sortedKeys)
            #expect(streamed == served)
            #expect(((sample.json["metrics"] as? [String: Any])?["cpu"] as? [String: Any])?["cpu_percent_total"] as? Double == 42.5)
            await client.close()
        }
    }

    @Test("fleet: all hosts first, then only changed hosts, at most one message per stream.fleet_interval")
    func fleetCoalescing() async throws {
        try await TestServer.with({ StreamFixtures.configure(&$0); $0.stream.fleetInterval = .milliseconds(400) }) { server in
            let start = Date().addingTimeInterval(-60)
            for (index, host) in ["alpha", "bravo", "charlie"].enumerated() {
                try server.server.metrics.ingest(StreamFixtures.document(at: start, cpu: Double(index)), hostname: host)
            }
            let token = try await StreamFixtures.signIn(port: server.httpPort)
            let client = StreamClient.connect(port: server.httpPort)
            _ = try await client.authenticate(token)
            try await client.subscribe(["fleet"])
            let first = try await client.next(type: "fleet", timeout: .seconds(2))
            let firstHosts = (first.json["hosts"] as? [[String: Any]])?.compactMap { $0["hostname"] as? String }
            #expect(firstHosts == ["alpha", "bravo", "charlie"])
            let keys = Set(((first.json["hosts"] as? [[String: Any]])?.first ?? [:]).keys)
            #expect(keys.isSuperset(of: ["hostname", "state", "connected", "last_seen", "cpu_percent", "memory_percent", "disk"]))

            // Ten samples of alpha within a few ms, one of charlie: one message, the newest figures.
            for step in 1...10 {
                try server.server.metrics.ingest(StreamFixtures.document(at: start.addingTimeInterval(Double(step)), cpu: Double(step)), hostname: "alpha")
            }
            try server.server.metrics.ingest(StreamFixtures.document(at: start.addingTimeInterval(1), cpu: 77), hostname: "charlie")
            let changed = try await client.next(type: "fleet", timeout: .seconds(2))
            let hosts = changed.json["hosts"] as? [[String: Any]] ?? []
            #expect(hosts.compactMap { $0["hostname"] as? String } == ["alpha", "charlie"])
            #expect(hosts.first?["cpu_percent"] as? Double == 10)
            #expect(hosts.last?["cpu_percent"] as? Double == 77)

            // A steady 50 samples/s for 2 s: fleet messages at most one per 400 ms.
            let window = ContinuousClock.now
            var arrivals: [ContinuousClock.Instant] = []
            let feeder = Task {
                for step in 0..<100 {
                    try server.server.metrics.ingest(StreamFixtures.document(at: start.addingTimeInterval(Double(100 + step))), hostname: "bravo")
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            while ContinuousClock.now - window < .seconds(2) {
                guard let message = try? await client.next(timeout: .seconds(1)) else { continue }
                if message.type == "fleet" { arrivals.append(ContinuousClock.now) }
            }
            try await feeder.value
            #expect(arrivals.count >= 3 && arrivals.count <= 7, "\(arrivals.count) fleet messages in 2 s at a 400 ms interval")
            for (earlier, later) in zip(arrivals, arrivals.dropFirst()) {
                #expect(later - earlier > .milliseconds(250), "two fleet messages \(later - earlier) apart")
            }
            await client.close()
        }
    }

    @Test("events: a killed agent's state changes arrive as event and state messages")
    func eventsOnAgentKill() async throws {
        try await TestServer.with(StreamFixtures.configure) { server in
            let token = try await StreamFixtures.signIn(port: server.httpPort)
            let client = StreamClient.connect(port: server.httpPort)
            _ = try await client.authenticate(token)
            try await client.subscribe(["events"])
            let peer = try await RawPeer.connect(port: server.agentPort)
            try await peer.register(key: try await server.key(for: "victim"), hostname: "victim")
            #expect(try await peer.response()?.success == true)
            let event = try await client.next(type: "event")
            #expect((event.json["event"] as? [String: Any])?["hostname"] as? String == "victim")
            let state = try await client.next(type: "state")
            #expect(state.json["hostname"] as? String == "victim")
            #expect(state.json["connected"] as? Bool == true)

            await peer.close()  // killed: no CLIENT_UNREGISTER
            let deadline = ContinuousClock.now + .seconds(10)
            var down: StreamClient.Received?
            while down == nil, ContinuousClock.now < deadline {
                let message = try await client.next(type: "state", timeout: .seconds(10))
                if message.json["state"] as? String == "DOWN" { down = message }
            }
            #expect(down?.json["hostname"] as? String == "victim")
            #expect(down?.json["connected"] as? Bool == false)
            await client.close()
        }
    }

    @Test("messages: a message posted as server is pushed as GET /api/messages lists it")
    func messagePush() async throws {
        try await TestServer.with(StreamFixtures.configure) { server in
            let token = try await StreamFixtures.signIn(port: server.httpPort)
            let client = StreamClient.connect(port: server.httpPort)
            _ = try await client.authenticate(token)
            try await client.subscribe(["messages"])
            let (status, posted) = try await StreamFixtures.post(port: server.httpPort, path: "/api/messages", body: ["recipient": NSNull(), "content": "hello fleet"], token: token)
            #expect(status == 201)
            let pushed = try await client.next(type: "message")
            let message = pushed.json["message"] as? [String: Any]
            #expect(message?["content"] as? String == "hello fleet")
            #expect(message?["sender"] as? String == "server")
            #expect(message?["message_id"] as? String == posted?["message_id"] as? String)
            #expect(message?["id"] as? Int == posted?["id"] as? Int)
            await client.close()
        }
    }

    @Test("an unknown topic is answered with an error and the stream stays open")
    func unknownTopic() async throws {
        try await TestServer.with(StreamFixtures.configure) { server in
            let token = try await StreamFixtures.signIn(port: server.httpPort)
            let client = StreamClient.connect(port: server.httpPort)
            _ = try await client.authenticate(token)
            client.send(["type": "subscribe", "topics": ["weather", "fleet"]])
            let error = try await client.next(type: "error")
            #expect(error.json["error"] as? String == "unknown_topic")
            #expect((error.json["detail"] as? String)?.contains("weather") == true)
            let subscribed = try await client.next(type: "subscribed")
            #expect(subscribed.json["topics"] as? [String] == ["fleet"])
            client.send(["type": "dance"])
            #expect(try await client.next(type: "error").json["error"] as? String == "unknown_type")
            let after = try await client.subscribe(["events", "host:db-1"])
            #expect(after.json["topics"] as? [String] == ["events", "fleet", "host:db-1"])
            client.send(["type": "unsubscribe", "topics": ["fleet"]])
            #expect(try await client.next(type: "subscribed").json["topics"] as? [String] == ["events", "host:db-1"])
            await client.close()
        }
    }

    @Test("a message over stream.max_message_size closes the stream with 1009")
    func oversizedMessage() async throws {
        try await TestServer.with({ StreamFixtures.configure(&$0); $0.stream.maxMessageSize = 4096 }) { server in
            let token = try await StreamFixtures.signIn(port: server.httpPort)
            let client = StreamClient.connect(port: server.httpPort)
            _ = try await client.authenticate(token)
            client.send(["type": "subscribe", "topics": [String(repeating: "x", count: 5000)]])
            let (code, _) = try await client.closed()
            #expect(code == 1009)
        }
    }

    // MARK: Slow clients

    @Test("a client that never reads is dropped at its bound, its queue never past it, while ingest and other clients go on")
    func slowClientDropped() async throws {
        let maxMessages = 16
        try await TestServer.with({
            StreamFixtures.configure(&$0)
            $0.stream.maxQueuedMessages = maxMessages
            $0.stream.maxQueuedBytes = 256 << 10
            $0.stream.closeTimeout = .milliseconds(500)
        }) { server in
            let hub = server.server.live
            let token = try await StreamFixtures.signIn(port: server.httpPort)
            let good = StreamClient.connect(port: server.httpPort)
            _ = try await good.authenticate(token)
            try await good.subscribe(["host:busy"])
            let stalled = try await StalledStreamClient.connect(port: server.httpPort, token: token, topics: ["host:busy"])
            try await eventually(timeout: .seconds(5), "the stalled client's subscription") { hub.subscriberCount(.host("busy")) == 2 }

            // Samples of ~20 KB each, as fast as the ingest takes them, until the hub drops the
            // stalled client (its socket buffers fill first, then its queue).
            let start = Date().addingTimeInterval(-100)  // 10 ms apart: 5,100 samples fit before now
            let goodSamples = Counter()
            let reader = Task {
                while let message = try await good.next(timeout: .seconds(30)) {
                    if message.type == "sample" { goodSamples.increment() }
                }
            }
            var sent = 0
            var slowest: Duration = .zero
            while hub.statistics.droppedSlow == 0, sent < 5000 {
                let before = ContinuousClock.now
                try server.server.metrics.ingest(StreamFixtures.document(at: start.addingTimeInterval(Double(sent) / 100), processes: 60), hostname: "busy")
                slowest = max(slowest, ContinuousClock.now - before)
                sent += 1
                // Let the good reader keep up (its own bound is the same 16 messages).
                if sent % 8 == 0 {
                    let target = sent
                    try await eventually(timeout: .seconds(10), "the good client to keep up") { goodSamples.value >= target - 8 }
                }
            }
            #expect(hub.statistics.droppedSlow == 1, "no drop after \(sent) samples")
            // Ingest never waited for the stream: no single call took long, whatever the stalled client did.
            #expect(slowest < .milliseconds(200), "slowest ingest call \(slowest)")
            // Keep going after the drop: ingest and the good client are unaffected.
            for _ in 0..<100 {
                try server.server.metrics.ingest(StreamFixtures.document(at: start.addingTimeInterval(Double(sent) / 100), processes: 60), hostname: "busy")
                sent += 1
                let target = sent
                if sent % 8 == 0 { try await eventually(timeout: .seconds(10), "the good client to keep up") { goodSamples.value >= target - 8 } }
            }
            let total = sent
            try await eventually(timeout: .seconds(10), "the good client to read all \(total) samples") { goodSamples.value == total }
            reader.cancel()
            #expect(hub.statistics.droppedSlow == 1)

            let (status, _, health) = try await StreamFixtures.get(port: server.httpPort, path: "/api/health")
            #expect(status == 200)
            #expect(((health as? [String: Any])?["stream"] as? [String: Any])?["dropped_slow"] as? Int == 1)
            #expect(server.logs.contains("stream client dropped: too slow"))

            // The server cut the connection (a client that reads nothing cannot get a close frame).
            try await stalled.drainUntilClosed()
            try await eventually(timeout: .seconds(5), "the stalled client to be removed") { hub.statistics.clients == 1 }
            // No client's queue ever held more than its bound.
            let statistics = hub.statistics
            #expect(statistics.highWaterMessages <= maxMessages)
            #expect(statistics.highWaterBytes <= 256 << 10)
            await good.close()
        }
    }
}

/// A count shared with a reader task.
final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { self.count.withLock { $0 += 1 } }
    var value: Int { self.count.withLock { $0 } }
}
