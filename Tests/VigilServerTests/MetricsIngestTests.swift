import Foundation
import Testing
import VigilMetrics
import VigilProtocol
import VigilStore
@testable import VigilServer

/// Metrics ingest over the agent port and `POST /api/metrics`, against an in-process server.
@Suite("Metrics ingest", .serialized)
struct MetricsIngestTests {
    static func document(at date: Date = Date(), cpu: Double = 12.5) -> MetricsDocument {
        var document = MetricsDocument(hostname: "ignored", timestamp: date)
        document.cpu = .init(cpuPercentTotal: cpu, cpuPercentPerCore: [cpu, cpu], cpuCountLogical: 2, loadAverage: [0.1, 0.2, 0.3])
        document.memory = .init(memoryTotal: 1000, memoryAvailable: 600, memoryUsed: 400, memoryFree: 500, memoryPercent: 40, swapTotal: 0, swapUsed: 0, swapFree: 0, swapPercent: 0)
        document.disk = .init(partitions: [.init(device: "/dev/sda1", mountpoint: "/", fstype: "ext4", total: 100, used: 30, free: 70, percent: 30)])
        return document
    }

    static func json(_ document: MetricsDocument) throws -> Data {
        try JSONEncoder().encode(document)
    }

    /// A registered raw peer for `host`.
    func registered(_ server: TestServer, _ host: String) async throws -> RawPeer {
        let peer = try await RawPeer.connect(port: server.agentPort)
        try await peer.register(key: try await server.key(for: host), hostname: host)
        #expect(try await peer.response()?.success == true)
        return peer
    }

    @Test("a METRICS frame updates the latest sample at once and reaches history with the next batch")
    func tcpIngest() async throws {
        let server = try await TestServer.start { $0.metricsFlushInterval = .milliseconds(50) }
        defer { Task { await server.stop() } }
        let peer = try await self.registered(server, "tcp-host")
        let sent = Self.document()
        try await peer.send(Envelope(.metrics(sent)))
        try await eventually(timeout: .seconds(5), "the latest sample") { server.server.metrics.latest.sample(for: "tcp-host") != nil }
        #expect(server.server.metrics.latest.sample(for: "tcp-host")?.document.cpu?.cpuPercentTotal == 12.5)
        let t = sent.timestamp.timeIntervalSince1970
        try await eventually(timeout: .seconds(5), "the stored point") {
            try await server.server.history.points(hostname: "tcp-host", series: "cpu.cpu_percent_total", from: t - 1, to: t + 1, resolution: .raw).map(\.avg) == [12.5]
        }
        await peer.close()
    }

    @Test("a METRICS frame with a message_id is acknowledged (success, in_reply_to) once its sample is in history")
    func tcpAcknowledgement() async throws {
        try await TestServer.with { server in
            let peer = try await self.registered(server, "acked-host")
            let sent = Self.document(cpu: 33)
            for index in 1...3 {
                var document = sent
                document.timestamp = sent.timestamp.addingTimeInterval(Double(index))
                try await peer.send(Envelope(.metrics(document), messageID: "sample-\(index)"))
                let answer = try #require(try await peer.response())
                #expect(answer.success && !answer.fatal && answer.inReplyTo == "sample-\(index)")
                // Acknowledged means stored: no waiting for a batch.
                let t = document.timestamp.timeIntervalSince1970
                let points = try await server.server.history.points(hostname: "acked-host", series: "cpu.cpu_percent_total", from: t - 0.5, to: t + 0.5, resolution: .raw)
                #expect(points.map(\.avg) == [33])
            }
            await peer.close()
        }
    }

    @Test("a METRICS frame with a wrong type is refused with its field path; the session goes on")
    func tcpWrongType() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let peer = try await self.registered(server, "typo-host")
        try await peer.send(json: #"{"type":"METRICS","message_id":"m-1","payload":{"cpu":{"cpu_percent_total":"high","cpu_count_logical":2}}}"#)
        let reply = try #require(try await peer.response())
        #expect(reply.success == false && reply.fatal == false)
        #expect(reply.code == .invalidField)
        #expect(reply.message.contains("payload.cpu.cpu_percent_total"))
        try await peer.send(Envelope(.heartbeat(HeartbeatPayload(seq: 1))))
        #expect(try await peer.ack()?.seq == 1)
        await peer.close()
    }

    @Test("rate-limited and future samples are refused, not counted as protocol errors; a resend is back-fill, taken once")
    func tcpRefusals() async throws {
        let server = try await TestServer.start {
            $0.metricsRateLimit = 0.001
            $0.metricsRateBurst = 2
            $0.maxProtocolErrors = 0
        }
        defer { Task { await server.stop() } }
        let peer = try await self.registered(server, "busy-host")
        let now = Date()
        try await peer.send(Envelope(.metrics(Self.document(at: now - 10))))
        // The same timestamp again: a resend, taken as back-fill (its own budget) and stored once.
        try await peer.send(Envelope(.metrics(Self.document(at: now - 10))))
        // An hour ahead of the server's clock.
        try await peer.send(Envelope(.metrics(Self.document(at: now + 3600))))
        var reply = try #require(try await peer.response())
        #expect(reply.code == .invalidField && reply.message.contains("ahead"))
        // Refused samples took no token: the second good sample takes the last of the burst of 2,
        // the third is limited.
        try await peer.send(Envelope(.metrics(Self.document(at: now - 5))))
        try await peer.send(Envelope(.metrics(Self.document(at: now - 4))))
        reply = try #require(try await peer.response())
        #expect(reply.code == .rateLimited && !reply.fatal)
        #expect(!peer.isClosed)
        try await peer.send(Envelope(.heartbeat(HeartbeatPayload(seq: 1))))
        #expect(try await peer.ack()?.seq == 1, "refused samples do not count toward max_protocol_errors = 0")
        #expect(server.server.metrics.counters.accepted == 3)
        #expect(server.server.metrics.backfilledCount == 1)
        try await eventually(timeout: .seconds(2), "a log line") { server.logs.contains("metrics sample refused") }
        await peer.close()
    }

    @Test("POST /api/metrics: 200 with the key's host (a resend too, stored once); 401 without or with a bad key; 400 with the field path")
    func httpIngest() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let key = try await server.key(for: "web-host")
        let body = try Self.json(Self.document())
        var (status, _, json) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: body)
        #expect(status == 200)
        #expect(json as? [String: String] == ["status": "success", "hostname": "web-host"])
        // A resend (the answer was lost): back-fill, acknowledged, kept once.
        (status, _, json) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: body)
        #expect(status == 200)
        #expect(server.server.metrics.backfilledCount == 1)
        (status, _, json) = try await server.http("POST", "/api/metrics", body: body)
        #expect(status == 401)
        #expect((json as? [String: String])?["error"] == "key_required")
        (status, _, json) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": "not-a-key"], body: body)
        #expect(status == 401)
        #expect((json as? [String: String])?["error"] == "invalid_key")
        let revoked = try await server.store.createKey(hostname: "gone-host")
        _ = try await server.store.revokeKey(id: revoked.key.id)
        (status, _, json) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": revoked.token], body: body)
        #expect(status == 401)
        #expect((json as? [String: String])?["error"] == "revoked_key")
        #expect(!server.logs.all.contains { $0.contains(revoked.token) }, "the key never reaches the log")
        (status, _, json) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: Data(#"{"memory": {"memory_total": "lots"}}"#.utf8))
        #expect(status == 400)
        #expect((json as? [String: String])?["detail"]?.hasPrefix("memory.memory_total") == true)
        // A negative count: Foundation's decoder names no field for a number out of its type's range.
        (status, _, json) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: Data(#"{"memory": {"memory_total": -5}}"#.utf8))
        #expect(status == 400)
        #expect((json as? [String: String])?["error"] == "invalid_field")
        (status, _, json) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: Data(#"{"disk": {"partitions": [{"device": 1}]}}"#.utf8))
        #expect(status == 400)
        #expect((json as? [String: String])?["detail"]?.hasPrefix("disk.partitions[0].device") == true)
        (status, _, json) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: Data("not json".utf8))
        #expect(status == 400)
        #expect((json as? [String: String])?["error"] == "invalid_json")
        (status, _, _) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: Data())
        #expect(status == 400)
    }

    @Test("POST /api/metrics: 429 with Retry-After past the host's rate")
    func httpRateLimit() async throws {
        let server = try await TestServer.start {
            $0.metricsRateLimit = 0.5
            $0.metricsRateBurst = 1
        }
        defer { Task { await server.stop() } }
        let key = try await server.key(for: "flood-host")
        let now = Date()
        var (status, headers, json) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: try Self.json(Self.document(at: now - 2)))
        #expect(status == 200)
        (status, headers, json) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: try Self.json(Self.document(at: now - 1)))
        #expect(status == 429)
        #expect((json as? [String: String])?["error"] == "rate_limited")
        #expect(headers["retry-after"] == "2")
        // Another host has its own bucket.
        let other = try await server.key(for: "quiet-host")
        (status, _, _) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": other], body: try Self.json(Self.document(at: now - 1)))
        #expect(status == 200)
    }

    @Test("POST /api/metrics: a body over the limit gets 413, declared or chunked, and the server goes on")
    func httpTooLarge() async throws {
        let server = try await TestServer.start { $0.maxMetricsBodySize = 1024 }
        defer { Task { await server.stop() } }
        let key = try await server.key(for: "big-host")
        let big = Data(("{\"comment\":\"" + String(repeating: "x", count: 4096) + "\"}").utf8)
        var (status, _, json) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: big)
        #expect(status == 413)
        #expect((json as? [String: String])?["error"] == "body_too_large")
        // Chunked, so no Content-Length gives the size away: the limit holds while reading.
        let peer = try await RawPeer.connect(port: server.httpPort)
        let chunk = String(repeating: "y", count: 800)
        let chunkLine = String(chunk.utf8.count, radix: 16)
        try await peer.send(bytes: Array("POST /api/metrics HTTP/1.1\r\nHost: x\r\nX-API-Key: \(key)\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\(chunkLine)\r\n\(chunk)\r\n\(chunkLine)\r\n\(chunk)\r\n0\r\n\r\n".utf8))
        try await eventually(timeout: .seconds(5), "a 413 answer") { peer.receivedText.hasPrefix("HTTP/1.1 413") }
        await peer.close()
        (status, _, _) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: try Self.json(Self.document()))
        #expect(status == 200)
    }

    @Test("a 200 means written; latest samples survive a restart")
    func shutdownFlushAndRestart() async throws {
        let first = try await TestServer.start { $0.metricsFlushInterval = .seconds(3600) }
        let key = try await first.key(for: "durable-host")
        let sent = Self.document(cpu: 77)
        let (status, _, _) = try await first.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: try Self.json(sent))
        #expect(status == 200)
        #expect(first.server.metrics.pendingCount == 0, "the 200 waited for the write")
        await first.stop(keepingFiles: true)

        let second = try await TestServer.start(directory: first.directory)
        defer { Task { await second.stop() } }
        let t = sent.timestamp.timeIntervalSince1970
        let points = try await second.server.history.points(hostname: "durable-host", series: "cpu.cpu_percent_total", from: t - 1, to: t + 1, resolution: .raw)
        #expect(points.map(\.avg) == [77])
        let (currentStatus, _, current) = try await second.http("GET", "/api/servers/durable-host/current")
        #expect(currentStatus == 200)
        #expect((((current as? [String: Any])?["metrics"] as? [String: Any])?["cpu"] as? [String: Any])?["cpu_percent_total"] as? Double == 77)
        // A resend of the same sample after the restart is still recognised: back-fill, acknowledged,
        // stored once, and current stays the sample it was.
        let (resend, _, _) = try await second.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: try Self.json(sent))
        #expect(resend == 200)
        #expect(second.server.metrics.backfilledCount == 1)
        let again = try await second.server.history.points(hostname: "durable-host", series: "cpu.cpu_percent_total", from: t - 1, to: t + 1, resolution: .raw)
        #expect(again.map(\.avg) == [77])
    }

    @Test("storage: memory keeps history in memory and writes no file")
    func memoryMode() async throws {
        let server = try await TestServer.start {
            $0.storage = .memory
            $0.metricsFlushInterval = .milliseconds(20)
        }
        defer { Task { await server.stop() } }
        #expect(server.server.history is MemoryMetricsStore)
        let key = try await server.key(for: "mem-host")
        let (status, _, _) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: try Self.json(Self.document(cpu: 5)))
        #expect(status == 200)
        try await eventually(timeout: .seconds(5), "history in memory") {
            let (_, _, json) = try await server.http("GET", "/api/servers/mem-host/history?metric=cpu.percent")
            return ((json as? [String: Any])?["points"] as? [[String: Any]])?.first?["value"] as? Double == 5
        }
        #expect(!FileManager.default.fileExists(atPath: server.directory.appendingPathComponent("metrics.sqlite").path))
    }
}
