import Foundation
import NIOCore
import NIOEmbedded
import NIOSSL
import Testing
import VigilProtocol
import X509
@testable import VigilServer

@Suite("TLS reload and handshake floods")
struct TLSReloadAndFloodTests {
    @Test("a reload after rotate serves the new certificate to new connections and drops no live one")
    func reloadKeepsConnections() async throws {
        try await TestServer.with { server in
            let tls = try #require(server.server.tls)
            let key = try await server.key(for: "live")
            let live = try await RawPeer.connect(port: server.agentPort, trusting: tls.material.ca)
            defer { Task { await live.close() } }
            try await live.register(key: key, hostname: "live")
            #expect(try await live.response()?.success == true)
            let before = try #require(try await live.peerCertificate())

            let rotated = try TLSFiles(dataDirectory: server.directory.path).rotate(settings: server.server.settings.tls, names: server.server.settings.tlsNames)
            try tls.reload()
            #expect(tls.material.serverCertificate == rotated.serverCertificate)

            // The open connection goes on.
            try await live.send(Envelope(.heartbeat(HeartbeatPayload(seq: 1)), messageID: "hb-1"))
            #expect(try await live.ack()?.seq == 1)
            // A new one sees the new certificate, from the same CA.
            let fresh = try await RawPeer.connect(port: server.agentPort, trusting: tls.material.ca)
            defer { Task { await fresh.close() } }
            try await fresh.register(key: try await server.key(for: "fresh"), hostname: "fresh")
            #expect(try await fresh.response()?.success == true)
            let after = try #require(try await fresh.peerCertificate())
            #expect(after != before)
            #expect(after == rotated.serverCertificate)
        }
    }

    @Test("a reload that fails keeps the old certificates in use")
    func failedReload() async throws {
        try await TestServer.with { server in
            let tls = try #require(server.server.tls)
            let old = tls.material.serverCertificate
            try "not a certificate".write(toFile: server.directory.appendingPathComponent("tls/server.pem").path, atomically: true, encoding: .utf8)
            #expect(throws: TLSSetupError.self) { try tls.reload() }
            #expect(tls.material.serverCertificate == old)
            #expect(server.logs.contains("TLS reload failed"))
            let peer = try await RawPeer.connect(port: server.agentPort, trusting: tls.material.ca)
            defer { Task { await peer.close() } }
            try await peer.register(key: try await server.key(for: "still"), hostname: "still")
            #expect(try await peer.response()?.success == true)
        }
    }

    @Test("1,000 connections that send a ClientHello and stall: registered agents keep being served, the stalled ones are closed at the deadline")
    func clientHelloFlood() async throws {
        try await TestServer.with({ $0.tls.handshakeTimeout = .seconds(2) }) { server in
            let tls = try #require(server.server.tls)
            let key = try await server.key(for: "steady")
            let steady = try await RawPeer.connect(port: server.agentPort, trusting: tls.material.ca)
            defer { Task { await steady.close() } }
            try await steady.register(key: key, hostname: "steady")
            #expect(try await steady.response()?.success == true)

            let hello = try Self.clientHello()
            var stalled: [RawPeer] = []
            for _ in 0..<1000 {
                let peer = try await RawPeer.connect(port: server.agentPort)
                try await peer.send(bytes: hello)
                stalled.append(peer)
            }
            // While the server answers 1,000 handshakes that never finish, heartbeats are acknowledged at once.
            for seq in UInt64(1)...20 {
                let sent = ContinuousClock.now
                try await steady.send(Envelope(.heartbeat(HeartbeatPayload(seq: seq)), messageID: "hb-\(seq)"))
                #expect(try await steady.ack(timeout: .seconds(2))?.seq == seq)
                #expect(ContinuousClock.now - sent < .seconds(1))
            }
            try await eventually(timeout: .seconds(10), "every stalled handshake closed") { stalled.allSatisfy(\.isClosed) }
            #expect(!steady.isClosed)
            for peer in stalled { await peer.close() }
        }
    }

    /// A real ClientHello, as NIOSSL's client writes it first.
    static func clientHello() throws -> [UInt8] {
        let channel = EmbeddedChannel()
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        let context = try NIOSSLContext(configuration: configuration)
        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: "localhost"))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        var bytes: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
        _ = try? channel.finish()
        return bytes
    }
}
