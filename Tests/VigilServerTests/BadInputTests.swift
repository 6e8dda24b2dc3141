import Foundation
import Synchronization
import Testing
import VigilProtocol
import VigilStore
@testable import VigilServer

/// Every kind of bad input gets a precise answer, a log line and the right close, and the server
/// keeps serving everyone else: each test ends by registering a well-behaved agent.
@Suite("Bad input on the agent port", .serialized)
struct BadInputTests {
    /// Runs `body` against a fresh server, then proves the server still serves a good agent.
    private func withServer(_ configure: @Sendable (inout ServerSettings) -> Void = { _ in }, _ body: (TestServer) async throws -> Void) async throws {
        let server = try await TestServer.start(configure)
        do {
            try await body(server)
            let good = try await RawPeer.connect(port: server.agentPort)
            try await good.register(key: try await server.key(for: "good"))
            let reply = try #require(try await good.response())
            #expect(reply.success, "the server still registers a good agent afterwards")
            await good.close()
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// Sends `bytes` as the first thing on a connection and expects a fatal answer with `code`, then a close.
    private func expectFatal(_ server: TestServer, sending send: (RawPeer) async throws -> Void, code: ErrorCode, detail: String? = nil) async throws {
        let peer = try await RawPeer.connect(port: server.agentPort)
        try await send(peer)
        let reply = try #require(try await peer.response(), "expected a SERVER_RESPONSE before the close")
        #expect(reply.success == false)
        #expect(reply.code == code)
        #expect(reply.fatal)
        if let detail { #expect(reply.message.contains(detail), "message \"\(reply.message)\" should mention \(detail)") }
        #expect(try await peer.waitForClose())
        try await eventually(timeout: .seconds(2), "a log line for \(code.rawValue)") { server.logs.contains("code=\(code.rawValue)") }
    }

    @Test("a frame over the limit is refused as soon as its length arrives")
    func frameTooLarge() async throws {
        try await self.withServer({ $0.maxFrameSize = 1024 }) { server in
            try await self.expectFatal(server, sending: { try await $0.send(bytes: [0, 0, 4, 1]) }, code: .frameTooLarge, detail: "1025")
        }
    }

    @Test("a truncated frame then close is logged with its byte counts")
    func truncatedFrame() async throws {
        try await self.withServer { server in
            let peer = try await RawPeer.connect(port: server.agentPort)
            try await peer.send(bytes: [0, 0, 0, 100] + Array("{\"type\":".utf8))
            await peer.close()
            try await eventually(timeout: .seconds(2), "the truncation to be logged") {
                server.logs.contains("stream ended inside a frame: 8 of 100 payload bytes received")
            }
        }
    }

    @Test("a zero-length frame")
    func emptyFrame() async throws {
        try await self.withServer { server in
            try await self.expectFatal(server, sending: { try await $0.send(frame: []) }, code: .emptyFrame)
        }
    }

    @Test("a payload that is neither JSON nor a known binary kind")
    func unknownBinaryKind() async throws {
        try await self.withServer { server in
            try await self.expectFatal(server, sending: { try await $0.send(frame: [0x07, 1, 2, 3]) }, code: .unknownBinaryKind, detail: "0x07")
        }
    }

    @Test("invalid UTF-8")
    func invalidUTF8() async throws {
        try await self.withServer { server in
            try await self.expectFatal(server, sending: { try await $0.send(frame: [0x7B, 0xFF, 0xFE, 0x7D]) }, code: .invalidUTF8)
        }
    }

    @Test("invalid JSON")
    func invalidJSON() async throws {
        try await self.withServer { server in
            try await self.expectFatal(server, sending: { try await $0.send(json: #"{"type": "CLIENT_REGISTER", "#) }, code: .invalidJSON)
        }
    }

    @Test("valid JSON with a missing field, and with a mistyped field")
    func missingAndMistypedFields() async throws {
        try await self.withServer { server in
            try await self.expectFatal(server, sending: {
                try await $0.send(json: #"{"type":"CLIENT_REGISTER","payload":{"protocol_version":1}}"#)
            }, code: .missingField, detail: "payload.hostname")
            try await self.expectFatal(server, sending: {
                try await $0.send(json: #"{"type":"CLIENT_REGISTER","payload":{"protocol_version":"one","hostname":"x"}}"#)
            }, code: .invalidField, detail: "payload.protocol_version")
        }
    }

    @Test("an unknown type")
    func unknownType() async throws {
        try await self.withServer { server in
            try await self.expectFatal(server, sending: { try await $0.send(json: #"{"type":"FLY_TO_MOON","payload":{}}"#) }, code: .unknownType, detail: "FLY_TO_MOON")
        }
    }

    @Test("any frame before CLIENT_REGISTER")
    func frameBeforeRegister() async throws {
        try await self.withServer { server in
            try await self.expectFatal(server, sending: { try await $0.send(Envelope(.heartbeat(HeartbeatPayload(seq: 1)))) }, code: .notRegistered, detail: "HEARTBEAT")
        }
    }

    @Test("a second register on one connection is refused, and the connection goes on")
    func secondRegister() async throws {
        try await self.withServer { server in
            let key = try await server.key(for: "twice")
            let peer = try await RawPeer.connect(port: server.agentPort)
            try await peer.register(key: key)
            #expect(try await peer.response()?.success == true)
            try await peer.register(key: key)
            let reply = try #require(try await peer.response())
            #expect(reply.code == .alreadyRegistered)
            #expect(!reply.fatal)
            try await peer.send(Envelope(.heartbeat(HeartbeatPayload(seq: 7))))
            #expect(try await peer.ack()?.seq == 7, "the connection still works")
            await peer.close()
        }
    }

    @Test("after registration, bad frames cost only themselves, up to the limit")
    func protocolErrorLimit() async throws {
        try await self.withServer({ $0.maxProtocolErrors = 2 }) { server in
            let peer = try await RawPeer.connect(port: server.agentPort)
            try await peer.register(key: try await server.key(for: "clumsy"))
            #expect(try await peer.response()?.success == true)
            for _ in 0..<2 {
                try await peer.send(json: "{nope")
                let reply = try #require(try await peer.response())
                #expect(reply.code == .invalidJSON && !reply.fatal)
            }
            try await peer.send(json: "{nope")
            let last = try #require(try await peer.response())
            #expect(last.code == .tooManyErrors && last.fatal)
            #expect(try await peer.waitForClose())
        }
    }

    @Test("a peer that connects and says nothing is closed at the handshake timeout")
    func silentPeer() async throws {
        try await self.withServer({ $0.handshakeTimeout = .milliseconds(300) }) { server in
            let started = ContinuousClock.now
            try await self.expectFatal(server, sending: { _ in }, code: .handshakeTimeout)
            #expect(ContinuousClock.now - started >= .milliseconds(300))
        }
    }

    @Test("a peer that trickles one byte at a time cannot stretch the handshake")
    func slowPeer() async throws {
        try await self.withServer({ $0.handshakeTimeout = .milliseconds(500) }) { server in
            let peer = try await RawPeer.connect(port: server.agentPort)
            let started = ContinuousClock.now
            let register = Array(Envelope(.clientRegister(RegisterPayload(key: nil, hostname: "slow"))).encodedFrame().readableBytesView)
            var frame: [UInt8] = [0, 0, UInt8(register.count >> 8), UInt8(register.count & 0xFF)] + register
            while !frame.isEmpty, !peer.isClosed, ContinuousClock.now - started < .seconds(3) {
                try? await peer.send(bytes: [frame.removeFirst()])
                try await Task.sleep(for: .milliseconds(50))
            }
            let reply = try #require(try await peer.response())
            #expect(reply.code == .handshakeTimeout)
            #expect(try await peer.waitForClose())
            #expect(ContinuousClock.now - started < .seconds(2), "closed at the deadline, not when the trickle ended")
        }
    }

    @Test("a wrong key is refused with the reason; a revoked key stops working for new connections")
    func keys() async throws {
        try await self.withServer { server in
            try await self.expectFatal(server, sending: { try await $0.register(key: "vk_aaaaaaaaaaaa_" + String(repeating: "b", count: 43)) }, code: .invalidKey, detail: "not known")
            try await self.expectFatal(server, sending: { try await $0.register(key: "hunter2") }, code: .invalidKey, detail: "malformed")
            try await self.expectFatal(server, sending: { try await $0.register(key: nil) }, code: .keyRequired)

            let issued = try await server.store.createKey(hostname: "web1")
            let first = try await RawPeer.connect(port: server.agentPort)
            try await first.register(key: issued.token)
            #expect(try await first.response()?.session?.hostname == "web1", "the key decides the identity")
            _ = try await server.store.revokeKey(id: issued.key.id)
            try await self.expectFatal(server, sending: { try await $0.register(key: issued.token) }, code: .revokedKey, detail: issued.key.id)
            #expect(!server.logs.contains(issued.token), "the secret is never logged")
            await first.close()
        }
    }

    @Test("an unsupported protocol version")
    func unsupportedVersion() async throws {
        try await self.withServer { server in
            try await self.expectFatal(server, sending: { try await $0.register(key: nil, version: 99) }, code: .unsupportedVersion, detail: "99")
        }
    }

    @Test("open enrollment admits unknown agents, but never under a name a key protects")
    func openEnrollment() async throws {
        try await self.withServer({ $0.openEnrollment = true }) { server in
            let peer = try await RawPeer.connect(port: server.agentPort)
            try await peer.register(key: nil, hostname: "laptop")
            #expect(try await peer.response()?.session?.hostname == "laptop")
            _ = try await server.store.createKey(hostname: "db1")
            try await self.expectFatal(server, sending: { try await $0.register(key: nil, hostname: "db1") }, code: .hostnameBoundToKey)
            try await self.expectFatal(server, sending: { try await $0.register(key: nil, hostname: "../etc") }, code: .invalidHostname)
            await peer.close()
        }
    }

    @Test("connections over the limit are answered server_full")
    func serverFull() async throws {
        try await self.withServer({ $0.maxConnections = 2 }) { server in
            let a = try await RawPeer.connect(port: server.agentPort)
            let b = try await RawPeer.connect(port: server.agentPort)
            try await eventually(timeout: .seconds(2), "two open connections") { server.server.sessions.openConnections == 2 }
            try await self.expectFatal(server, sending: { _ in }, code: .serverFull)
            await a.close()
            await b.close()
            try await eventually(timeout: .seconds(2), "the slots to be released") { server.server.sessions.openConnections == 0 }
        }
    }

    @Test("a peer that sends but never reads is paused, and cut off after the close timeout")
    func nonReadingPeer() async throws {
        try await self.withServer({
            $0.heartbeatInterval = .milliseconds(200)
            $0.idleTimeoutSetting = .seconds(1)
            $0.closeTimeout = .milliseconds(300)
        }) { server in
            let peer = try await RawPeer.connect(port: server.agentPort)
            try await peer.register(key: try await server.key(for: "hoarder"))
            #expect(try await peer.response()?.success == true)
            try await peer.pauseReading()
            // 8 MB of heartbeats: their acknowledgements (about 20 MB) are far more than the socket
            // buffers hold, and little enough to process quickly on a loaded machine.
            let heartbeat = Array(Envelope(.heartbeat(HeartbeatPayload(seq: 1))).encodedFrame().readableBytesView)
            var one: [UInt8] = [0, 0, UInt8(heartbeat.count >> 8), UInt8(heartbeat.count & 0xFF)] + heartbeat
            var chunk: [UInt8] = []
            for _ in 0..<10_000 { chunk += one }
            one = []
            let drained = DrainCounter()
            for _ in 0..<20 { peer.write(bytes: chunk).whenComplete { _ in drained.increment() } }
            // Backpressure: the server stops reading this peer, so our writes cannot all drain.
            try await Task.sleep(for: .milliseconds(500))
            #expect(drained.count < 20, "the server kept reading a peer that does not read")
            // Nothing is read, so the idle timeout fires; its answer cannot be written; the close timeout ends it.
            try await eventually(timeout: .seconds(15), "the connection to be closed") {
                server.server.sessions.openConnections == 0
            }
            try await server.waitFor("hoarder", .down, timeout: .seconds(3))  // lost, and not back within the 200 ms grace
            await peer.close()
        }
    }
}

/// Counts completed writes from any thread.
private final class DrainCounter: Sendable {
    private let value = Mutex(0)
    func increment() { self.value.withLock { $0 += 1 } }
    var count: Int { self.value.withLock { $0 } }
}
