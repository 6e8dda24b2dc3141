import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing
import VigilConnection
import VigilProtocol

/// The client side of TLS against a real NIOSSL server: the pin, the dates, the names, the version.
@Suite("Client TLS with a pinned CA")
struct ClientTLSTests {
    /// Dials with `trust`, registers, and returns the server's answer.
    static func register(port: Int, host: String = "127.0.0.1", trust: TLSTrust, minimum: ClientTLS.MinimumVersion = .tls13) async throws -> ServerResponsePayload {
        let dialer = try ServerDialer(connectTimeout: .seconds(5), tls: ClientTLS(trust: trust, minimumVersion: minimum))
        let channel = try await dialer.connect(to: ServerAddress(host: host, port: port), group: MultiThreadedEventLoopGroup.singleton)
        return try await channel.executeThenClose { inbound, outbound in
            let register = Envelope(.clientRegister(RegisterPayload(key: nil, hostname: "tls-client", capabilities: ["heartbeat"], agentVersion: "test")),
                                    senderID: "tls-client", timestamp: Date().timeIntervalSince1970, messageID: UUID().uuidString.lowercased())
            try await outbound.write(register.encodedFrame())
            for try await frame in inbound {
                if case .envelope(let envelope) = try InboundFrame.parse(frame), case .serverResponse(let response) = envelope.body {
                    return response
                }
            }
            throw TLSFailure.handshake("closed without an answer")
        }
    }

    /// Dials and returns the TLS refusal (fails the test if the dial succeeds or fails otherwise).
    static func refusal(port: Int, host: String = "127.0.0.1", trust: TLSTrust, minimum: ClientTLS.MinimumVersion = .tls13) async throws -> TLSFailure? {
        do {
            _ = try await self.register(port: port, host: host, trust: trust, minimum: minimum)
            Issue.record("the connection was accepted")
            return nil
        } catch let failure as TLSFailure {
            return failure
        }
    }

    @Test("a server whose chain holds the pinned CA registers the client (IP address and DNS name)")
    func pinnedCARegisters() async throws {
        let ca = try TestCA()
        let server = try await TLSTestServer(configuration: try ca.serverConfiguration(try ca.issue()))
        defer { Task { await server.close() } }
        let byIP = try await Self.register(port: server.port, trust: .pinned(ca.fingerprint))
        #expect(byIP.success)
        let byName = try await Self.register(port: server.port, host: "localhost", trust: .pinned(ca.fingerprint))
        #expect(byName.success)
        #expect(server.registeredNames == ["tls-client", "tls-client"])
    }

    @Test("a CA file is trusted like a pin")
    func caFileTrusts() async throws {
        let ca = try TestCA()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-ca-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ca.pem").path
        try Data(try ca.pem.utf8).write(to: URL(fileURLWithPath: path))
        let trust = try TLSTrust.caFile(path)
        #expect(trust.pin == ca.fingerprint)
        let server = try await TLSTestServer(configuration: try ca.serverConfiguration(try ca.issue()))
        defer { Task { await server.close() } }
        #expect(try await Self.register(port: server.port, trust: trust).success)
    }

    @Test("a server with another CA is refused, naming the fingerprint expected and the one found")
    func wrongCARefused() async throws {
        let pinned = try TestCA(commonName: "the CA in the token")
        let other = try TestCA(commonName: "another CA")
        let server = try await TLSTestServer(configuration: try other.serverConfiguration(try other.issue()))
        defer { Task { await server.close() } }
        let failure = try await Self.refusal(port: server.port, trust: .pinned(pinned.fingerprint))
        #expect(failure == .caMismatch(got: other.fingerprint, expected: pinned.fingerprint, pinSource: "from the enrollment token"))
        #expect(failure?.isPermanentRefusal == true)
        #expect(failure?.description == "server's certificate chain ends at CA \(other.fingerprint), expected \(pinned.fingerprint) (from the enrollment token)")
        #expect(server.registeredNames.isEmpty)
    }

    @Test("an expired server certificate is refused with its date")
    func expiredRefused() async throws {
        let ca = try TestCA()
        let notAfter = Date() - 3600
        let server = try await TLSTestServer(configuration: try ca.serverConfiguration(try ca.issue(notBefore: Date() - 7200, notAfter: notAfter)))
        defer { Task { await server.close() } }
        let failure = try await Self.refusal(port: server.port, trust: .pinned(ca.fingerprint))
        guard case .expired(let date, _)? = failure else {
            Issue.record("expected an expiry refusal, got \(String(describing: failure))")
            return
        }
        #expect(abs(date.timeIntervalSince(notAfter)) < 1)
        #expect(failure?.description.hasPrefix("server's certificate expired at ") == true)
        #expect(failure?.isPermanentRefusal == false)
    }

    @Test("a server certificate not valid yet is refused with its date")
    func notYetValidRefused() async throws {
        let ca = try TestCA()
        let notBefore = Date() + 3600
        let server = try await TLSTestServer(configuration: try ca.serverConfiguration(try ca.issue(notBefore: notBefore, notAfter: Date() + 7200)))
        defer { Task { await server.close() } }
        let failure = try await Self.refusal(port: server.port, trust: .pinned(ca.fingerprint))
        guard case .notYetValid(let date, _)? = failure else {
            Issue.record("expected a not-yet-valid refusal, got \(String(describing: failure))")
            return
        }
        #expect(abs(date.timeIntervalSince(notBefore)) < 1)
        #expect(failure?.description.contains("is not valid until") == true)
    }

    @Test("a certificate for another name is refused, naming what it is for")
    func otherNameRefused() async throws {
        let ca = try TestCA()
        let server = try await TLSTestServer(configuration: try ca.serverConfiguration(try ca.issue(dnsNames: ["vigil.example.com"], ipAddresses: [[10, 0, 0, 9]])))
        defer { Task { await server.close() } }
        let byIP = try await Self.refusal(port: server.port, trust: .pinned(ca.fingerprint))
        #expect(byIP == .wrongName(names: ["vigil.example.com", "10.0.0.9"], host: "127.0.0.1"))
        #expect(byIP?.description == "certificate is for vigil.example.com, 10.0.0.9, not 127.0.0.1")
        let byName = try await Self.refusal(port: server.port, host: "localhost", trust: .pinned(ca.fingerprint))
        #expect(byName == .wrongName(names: ["vigil.example.com", "10.0.0.9"], host: "localhost"))
    }

    @Test("a server offering only TLS 1.2 is refused, unless the client allows 1.2")
    func tls12OnlyRefused() async throws {
        let ca = try TestCA()
        let server = try await TLSTestServer(configuration: try ca.serverConfiguration(try ca.issue(), maximumVersion: .tlsv12))
        defer { Task { await server.close() } }
        let failure = try await Self.refusal(port: server.port, trust: .pinned(ca.fingerprint))
        #expect(failure == .versionTooOld(minimum: .tls13))
        #expect(failure?.description == "server offers only TLS 1.2 or older; this client requires TLS 1.3 or newer")
        #expect(try await Self.register(port: server.port, trust: .pinned(ca.fingerprint), minimum: .tls12).success)
    }

    @Test("a TLS client meeting a plaintext listener says so")
    func plaintextServer() async throws {
        let ca = try TestCA()
        let plain = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(PlaintextRefuser()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { plain.close(promise: nil) }
        let failure = try await Self.refusal(port: plain.localAddress?.port ?? 0, trust: .pinned(ca.fingerprint))
        guard case .handshake? = failure else {
            Issue.record("expected a handshake failure, got \(String(describing: failure))")
            return
        }
    }
}
