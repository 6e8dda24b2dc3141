import Foundation
import NIOCore
import NIOSSL
import Testing
import VigilProtocol
import X509
@testable import VigilServer

/// Both ports speak TLS 1.3 by default, choose TLS or plaintext by the first byte, and allow
/// plaintext only where the policy says (loopback by default).
@Suite("TLS on the agent and HTTP ports")
struct TLSListenerTests {
    @Test("an agent registers over TLS 1.3 with the server's CA trusted and gets heartbeat acks")
    func registersOverTLS() async throws {
        try await TestServer.with { server in
            let key = try await server.key(for: "tls-host")
            let peer = try await RawPeer.connect(port: server.agentPort, trusting: try RawPeer.ca(of: server))
            defer { Task { await peer.close() } }
            try await peer.register(key: key, hostname: "tls-host")
            let response = try #require(try await peer.response())
            #expect(response.success, "\(response.message)")
            try await peer.send(Envelope(.heartbeat(HeartbeatPayload(seq: 7)), messageID: "hb-7"))
            #expect(try await peer.ack()?.seq == 7)
            try await server.waitFor("tls-host", .healthy)
        }
    }

    @Test("plaintext from loopback is allowed by default (local tools, old clients)")
    func plaintextLoopbackAllowed() async throws {
        try await TestServer.with { server in
            let key = try await server.key(for: "plain-host")
            let peer = try await RawPeer.connect(port: server.agentPort)
            defer { Task { await peer.close() } }
            try await peer.register(key: key, hostname: "plain-host")
            #expect(try await peer.response()?.success == true)
        }
    }

    @Test("agents.plaintext never: a plaintext frame gets a fatal tls_required answer, in plaintext, then the close")
    func plaintextRefused() async throws {
        try await TestServer.with({ $0.agentPlaintext = .never }) { server in
            let key = try await server.key(for: "plain-host")
            let peer = try await RawPeer.connect(port: server.agentPort)
            defer { Task { await peer.close() } }
            try await peer.register(key: key, hostname: "plain-host")
            let response = try #require(try await peer.response())
            #expect(!response.success)
            #expect(response.code == .tlsRequired)
            #expect(response.fatal == true)
            #expect(response.message.contains("requires TLS"))
            #expect(try await peer.waitForClose())
            #expect(server.logs.contains("plaintext connection refused"))
            // The server is untouched: a TLS agent still registers.
            let secure = try await RawPeer.connect(port: server.agentPort, trusting: try RawPeer.ca(of: server))
            defer { Task { await secure.close() } }
            try await secure.register(key: key, hostname: "plain-host")
            #expect(try await secure.response()?.success == true)
        }
    }

    @Test("a client that trusts another CA fails the handshake and the server keeps serving")
    func wrongCA() async throws {
        try await TestServer.with { server in
            let other = try CertificateAuthority.create(commonName: "someone else", validity: .seconds(86_400))
            let peer = try await RawPeer.connect(port: server.agentPort, trusting: other.certificate)
            defer { Task { await peer.close() } }
            // The handshake may fail before or after this write is taken.
            try? await peer.register(key: "vk_whatever", hostname: "x")
            #expect(try await peer.waitForClose())
            #expect(peer.lastError.map { "\($0)" }?.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(String(describing: peer.lastError))")
        }
    }

    @Test("a certificate for another name is refused by the client")
    func otherName() async throws {
        try await TestServer.with({ $0.tls.names = ["vigil.example"] }) { server in
            let peer = try await RawPeer.connect(port: server.agentPort, trusting: try RawPeer.ca(of: server), serverName: "localhost")
            defer { Task { await peer.close() } }
            try? await peer.register(key: "vk_whatever", hostname: "x")
            #expect(try await peer.waitForClose())
            #expect(peer.lastError != nil)
            // The same server, the right name: accepted.
            let right = try await RawPeer.connect(port: server.agentPort, trusting: try RawPeer.ca(of: server), serverName: "vigil.example")
            defer { Task { await right.close() } }
            let key = try await server.key(for: "named")
            try await right.register(key: key, hostname: "named")
            #expect(try await right.response()?.success == true)
        }
    }

    @Test("a TLS 1.2-only client is refused on both ports; tls.min_version 1.2 admits it")
    func tls12Refused() async throws {
        try await TestServer.with { server in
            for port in [server.agentPort, server.httpPort] {
                let peer = try await RawPeer.connect(port: port, trusting: try RawPeer.ca(of: server)) { $0.maximumTLSVersion = .tlsv12 }
                defer { Task { await peer.close() } }
                try? await peer.send(bytes: Array("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                #expect(try await peer.waitForClose(), "port \(port)")
                #expect(peer.lastError != nil, "port \(port)")
            }
        }
        try await TestServer.with({ $0.tls.minimumVersion = .v1_2 }) { server in
            let key = try await server.key(for: "old-tls")
            let peer = try await RawPeer.connect(port: server.agentPort, trusting: try RawPeer.ca(of: server)) { $0.maximumTLSVersion = .tlsv12 }
            defer { Task { await peer.close() } }
            try await peer.register(key: key, hostname: "old-tls")
            #expect(try await peer.response()?.success == true)
        }
    }

    @Test("a ClientHello then silence is closed at tls.handshake_timeout")
    func handshakeDeadline() async throws {
        try await TestServer.with({ $0.tls.handshakeTimeout = .milliseconds(300) }) { server in
            let peer = try await RawPeer.connect(port: server.agentPort)
            defer { Task { await peer.close() } }
            // The first bytes of a TLS record header announcing a handshake, then nothing.
            try await peer.send(bytes: [0x16, 0x03, 0x01, 0x00, 0xc8, 0x01])
            let started = ContinuousClock.now
            #expect(try await peer.waitForClose(timeout: .seconds(5)))
            #expect(ContinuousClock.now - started < .seconds(3))
            try await eventually(timeout: .seconds(2), "the deadline logged") { server.logs.contains("TLS handshake not finished in time") }
        }
    }

    @Test("tls.enabled false: a ClientHello is closed with a log line instead of read as a giant frame")
    func tlsOff() async throws {
        try await TestServer.with({ $0.tls.enabled = false }) { server in
            #expect(server.server.tls == nil)
            let peer = try await RawPeer.connect(port: server.agentPort, trusting: nil)
            defer { Task { await peer.close() } }
            #expect(try await peer.waitForClose())
            try await eventually(timeout: .seconds(2), "the refusal logged") { server.logs.contains("TLS ClientHello on a plaintext listener") }
        }
    }
}
