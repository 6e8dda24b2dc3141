import Foundation
import Testing
import VigilProtocol
@testable import VigilServer

/// Names that are not names (`.`, `..`, `.hidden`, `server`) are refused as client ids at
/// registration, whichever way the name arrives: under open enrollment, bound to a key, or as the
/// `sender_id` of a version-0 register.
@Suite("Client names", .serialized)
struct ClientNameTests {
    static let refused = [".", "..", "...", ".hidden", ".partial", "server"]

    private func expectRefused(_ server: TestServer, sending register: (RawPeer) async throws -> Void, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let peer = try await RawPeer.connect(port: server.agentPort)
        try await register(peer)
        let reply = try #require(try await peer.response(), "no answer for \(name.debugDescription)", sourceLocation: sourceLocation)
        #expect(!reply.success && reply.fatal, "\(name.debugDescription) was admitted", sourceLocation: sourceLocation)
        #expect(reply.code == .invalidField, "\(name.debugDescription): \(reply.code?.rawValue ?? "-") \(reply.message)", sourceLocation: sourceLocation)
        #expect(try await peer.waitForClose(), sourceLocation: sourceLocation)
    }

    @Test("open enrollment: dot names, names starting with a dot and reserved names are refused with invalid_field; ordinary names with dots are not")
    func openEnrollment() async throws {
        try await withMessagingServer { server in
            for name in Self.refused {
                try await self.expectRefused(server, sending: { try await $0.register(key: nil, hostname: name) }, name)
                try await self.expectRefused(server, sending: {
                    try await $0.send(Envelope(.clientRegister(RegisterPayload(key: nil, hostname: name, kind: .user)), messageID: "r"))
                }, name)
            }
            for name in ["web-01.example.com", "a.", "a..b", "server2", "my-server"] {
                let peer = try await RawPeer.connect(port: server.agentPort)
                try await peer.register(key: nil, hostname: name)
                #expect(try await peer.response()?.session?.clientID == name)
                await peer.close()
            }
        }
    }

    @Test("a key bound to a name that is not a name (made before the rule) does not register")
    func keyBound() async throws {
        try await TestServer.with { server in
            for name in Self.refused {
                let key = try await server.key(for: name)
                try await self.expectRefused(server, sending: { try await $0.register(key: key, hostname: "whatever") }, name)
            }
        }
    }

    @Test("version 0: a sender_id that is not a name is refused")
    func versionZero() async throws {
        try await withMessagingServer { server in
            for name in Self.refused {
                try await self.expectRefused(server, sending: { try await $0.send(json: LegacyClientTests.registerFrame(name, id: "r")) }, name)
            }
        }
    }

    @Test("keys cannot be made for such names either (vigil keys create, POST /api/keys)")
    func keyCreation() {
        for name in Self.refused {
            #expect(!AgentAuthenticator.isValidHostname(name), "\(name)")
        }
        #expect(AgentAuthenticator.isValidHostname("web-01.example.com"))
    }
}
