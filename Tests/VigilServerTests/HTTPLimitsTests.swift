import Foundation
import Synchronization
import Testing
import VigilProtocol
@testable import VigilServer

/// The HTTP listener's limits (`http.*`), driven through raw sockets against a running server:
/// idle and slow connections are closed, malformed requests answered 400/431 and closed, and
/// connections beyond `http.max_connections` closed at accept while agents still register.
@Suite("HTTP connection limits", .serialized)
struct HTTPLimitsTests {
    /// Short limits so the tests run in well under a second each; the idle timeout is long unless
    /// a test is about it, so it never decides another test's outcome.
    static func shortLimits(_ settings: inout ServerSettings) {
        settings.http.idleTimeout = .seconds(30)
        settings.http.headerTimeout = .milliseconds(500)
        settings.http.bodyTimeout = .milliseconds(500)
        settings.http.bodyMinRate = 1024
        settings.http.closeLinger = .milliseconds(200)
    }

    @Test("an idle keep-alive connection, and one that never sends a byte, are closed after http.idle_timeout")
    func idleKeepAlive() async throws {
        try await TestServer.with({ Self.shortLimits(&$0); $0.http.idleTimeout = .milliseconds(300) }) { server in try await withRawHTTP(server) { connect in
            let used = try await connect()
            let silent = try await connect()
            try await used.send(text: "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            try await used.waitFor("HTTP/1.1 200")
            let answer = try await used.answerUntilClosed()
            #expect(answer.components(separatedBy: "HTTP/1.1").count == 2, "one answer, then the close: \(answer)")
            #expect(try await silent.answerUntilClosed() == "", "closed without an answer")
            #expect(!server.logs.contains("Error handling upgrade result"), "an idle close is not an error")
        } }
    }

    @Test("a head sent one byte at a time is answered 408 and closed after http.header_timeout")
    func slowHead() async throws {
        try await TestServer.with(Self.shortLimits) { server in try await withRawHTTP(server) { connect in
            let peer = try await connect()
            let started = ContinuousClock.now
            let trickling = Task { await peer.trickle("GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: \(String(repeating: "a", count: 200))\r\n\r\n", interval: .milliseconds(50)) }
            let answer = try await peer.answerUntilClosed()
            trickling.cancel()
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
            #expect(ContinuousClock.now - started < .seconds(3))
        } }
    }

    @Test("a chunked body that never ends is answered 408 and closed (body timeout and minimum rate)")
    func endlessChunkedBody() async throws {
        try await TestServer.with(Self.shortLimits) { server in try await withRawHTTP(server) { connect in
            let peer = try await connect()
            try await peer.send(text: "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            // 12 bytes every 50 ms: 240 B/s, below the 1024 B/s minimum.
            let trickling = Task { await peer.trickle(String(repeating: "1\r\n \r\n", count: 10_000), bytesPerStep: 12, interval: .milliseconds(50)) }
            let answer = try await peer.answerUntilClosed()
            trickling.cancel()
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
        } }
    }

    @Test("a Content-Length of 1 GB with 10 bytes sent is answered and closed")
    func shortBody() async throws {
        try await TestServer.with(Self.shortLimits) { server in try await withRawHTTP(server) { connect in
            let peer = try await connect()
            try await peer.send(text: "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{\"usernam")
            let answer = try await peer.answerUntilClosed()
            #expect(answer.hasPrefix("HTTP/1.1 408") || answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
        } }
    }

    static let malformed: [(String, String, String)] = [
        ("Content-Length with Transfer-Encoding", "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"),
        ("two Content-Lengths", "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\n{}{}", "400"),
        ("bare LF", "GET /api/health HTTP/1.1\nHost: x\n\n", "400"),
        ("obs-fold", "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\n\r\n", "400"),
        ("100 KB of headers", "GET /api/health HTTP/1.1\r\nHost: x\r\n" + (0..<100).map { "X-Big-\($0): \(String(repeating: "b", count: 1000))\r\n" }.joined() + "\r\n", "431"),
    ]

    @Test("a malformed request is answered 400 (431 for an oversized head) and closed", arguments: HTTPLimitsTests.malformed)
    func malformedRequest(_ name: String, _ request: String, _ status: String) async throws {
        try await TestServer.with(Self.shortLimits) { server in try await withRawHTTP(server) { connect in
            let peer = try await connect()
            try await peer.send(text: request)
            let answer = try await peer.answerUntilClosed()
            #expect(answer.hasPrefix("HTTP/1.1 \(status)"), "\(name): \(answer)")
            #expect(answer.lowercased().contains("connection: close"), "\(name): \(answer)")
            #expect(!server.logs.contains("Error handling upgrade result"), "\(name): not logged as a server error: \(server.logs.all.filter { $0.contains("upgrade") })")
        } }
    }

    @Test("a malformed request after a good one on the same connection is answered 400 and closed")
    func malformedAfterKeepAlive() async throws {
        try await TestServer.with(Self.shortLimits) { server in try await withRawHTTP(server) { connect in
            let peer = try await connect()
            try await peer.send(text: "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            try await peer.waitFor("HTTP/1.1 200")
            try await peer.send(text: "GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
            let answer = try await peer.answerUntilClosed()
            #expect(answer.contains("HTTP/1.1 400"), "\(answer)")
        } }
    }

    @Test("connections beyond http.max_connections are closed at accept; agents register during the flood; HTTP serves again once some close")
    func connectionFlood() async throws {
        try await TestServer.with({ Self.shortLimits(&$0); $0.http.maxConnections = 8 }) { server in try await withRawHTTP(server) { connect in
            var flood: [RawPeer] = []
            for _ in 0..<40 { flood.append(try await connect()) }
            try await eventually(timeout: .seconds(5), "32 of 40 connections to be closed") { flood.filter(\.isClosed).count == 32 }
            #expect(flood.filter(\.isClosed).allSatisfy { $0.receivedText.isEmpty }, "refused without an answer")
            #expect(server.server.httpConnections.current == 8)
            #expect(server.logs.contains("HTTP connection refused: http.max_connections reached"))
            #expect(!server.logs.contains("Error handling upgrade result"), "a refused connection is not a server error")
            // Agents are unaffected: their listener has its own descriptors and limit.
            for index in 0..<5 {
                let agent = try await RawPeer.connect(port: server.agentPort)
                try await agent.register(key: try await server.key(for: "flood-\(index)"), hostname: "flood-\(index)")
                let response = try #require(try await agent.response())
                #expect(response.success, "\(response)")
                await agent.close()
            }
            // A new HTTP connection is refused while the limit is held, and served once a slot frees.
            let extra = try await connect()
            #expect(try await extra.answerUntilClosed() == "")
            for peer in flood where !peer.isClosed { await peer.close() }
            try await eventually(timeout: .seconds(5), "the open connections to be released") { server.server.httpConnections.current == 0 }
            let after = try await connect()
            try await after.send(text: "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            try await after.waitFor("HTTP/1.1 200")
            await after.close()
        } }
    }

    @Test("a graceful stop closes a connection that has sent nothing, promptly")
    func stopWithSilentConnection() async throws {
        let server = try await TestServer.start(Self.shortLimits)
        let peer = try await RawPeer.connectHTTP(server)
        let stopped = Mutex(false)
        let stopping = Task {
            await server.stop()
            stopped.withLock { $0 = true }
        }
        try await eventually(timeout: .seconds(5), "the server to stop") { stopped.withLock { $0 } }
        try await eventually(timeout: .seconds(2), "the silent connection to be closed") { peer.isClosed }
        await peer.close()
        _ = await stopping.result
    }

    @Test("a normal request with a body is unaffected by the limits")
    func normalRequests() async throws {
        try await TestServer.with(Self.shortLimits) { server in try await withRawHTTP(server) { connect in
            #expect(try await server.signIn(TestServer.adminName, TestServer.adminPassword).status == 200)
            let peer = try await connect()
            let body = "{\"username\":\"admin\",\"password\":\"\(TestServer.adminPassword)\"}"
            try await peer.send(text: "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            try await peer.waitFor("HTTP/1.1 200")
            await peer.close()
        } }
    }

    @Test("at start the soft open-files limit is raised to the hard limit, and both are logged")
    func openFilesLimit() async throws {
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        try #require(getrlimit(resource, &limit) == 0)
        // Lowered first (any process may lower its soft limit), so the test shows the raise.
        var lowered = limit
        lowered.rlim_cur = limit.rlim_max - 1  // barely lower: other tests in this process keep their descriptors
        try #require(setrlimit(resource, &lowered) == 0)
        try await TestServer.with { server in
            var now = rlimit()
            #expect(getrlimit(resource, &now) == 0)
            #expect(now.rlim_cur == limit.rlim_max, "soft \(now.rlim_cur), hard \(limit.rlim_max)")
            #expect(server.logs.all.contains { $0.contains("open files limit") && $0.contains("hard=\(limit.rlim_max)") && $0.contains("soft_at_start=\(lowered.rlim_cur)") })
        }
        _ = setrlimit(resource, &limit)
    }
}
