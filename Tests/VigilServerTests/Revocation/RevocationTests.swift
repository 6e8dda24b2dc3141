import Foundation
import Testing
import VigilConnection
import VigilProtocol
import VigilStore
@testable import VigilServer

/// Revoking a key ends the sessions that use it at once, through the API or behind the server's
/// back (`vigil keys revoke` writes the database directly); removing a person ends their tools'
/// sessions; a new key's answer carries an enrollment token.
@Suite("Revocation takes effect at once")
struct RevocationTests {
    /// A session registered with a new key for `host`; returns the peer and the key's id.
    private func registered(_ server: TestServer, host: String, kind: ClientKind = .agent) async throws -> (RawPeer, String) {
        let issued = try await server.store.createKey(hostname: host)
        let peer = try await RawPeer.connect(port: server.agentPort)
        try await peer.send(Envelope(.clientRegister(RegisterPayload(key: issued.token, hostname: host, kind: kind)), messageID: "reg-1"))
        let answer = try #require(try await peer.response())
        #expect(answer.success, "\(answer.message)")
        return (peer, issued.key.id)
    }

    @Test("DELETE /api/keys/{id}: the live session gets a fatal revoked_key answer and the close within 1 s")
    func apiRevocation() async throws {
        try await TestServer.with { server in
            let (peer, keyID) = try await self.registered(server, host: "revoked-api")
            defer { Task { await peer.close() } }
            let started = ContinuousClock.now
            let answer = try await server.http("DELETE", "/api/keys/\(keyID)")
            #expect(answer.status == 204)
            let response = try #require(try await peer.response(timeout: .seconds(1)))
            #expect(response.code == .revokedKey)
            #expect(response.fatal)
            #expect(response.message.contains("revoked"))
            #expect(try await peer.waitForClose(timeout: .seconds(1)))
            #expect(ContinuousClock.now - started < .seconds(1))
            #expect(server.logs.contains("sessions_closed=1"))
        }
    }

    @Test("a key revoked in the database by another process (vigil keys revoke) closes its session within 1 s")
    func storeRevocation() async throws {
        try await TestServer.with { server in
            let (peer, keyID) = try await self.registered(server, host: "revoked-cli")
            defer { Task { await peer.close() } }
            let (other, _) = try await self.registered(server, host: "still-here")
            defer { Task { await other.close() } }
            // What `vigil keys revoke` does: a second connection to the same database.
            let cli = try SQLiteStore(directory: server.directory)
            let started = ContinuousClock.now
            _ = try await cli.revokeKey(id: keyID)
            let response = try #require(try await peer.response(timeout: .seconds(2)))
            #expect(response.code == .revokedKey)
            #expect(try await peer.waitForClose(timeout: .seconds(2)))
            #expect(ContinuousClock.now - started < .seconds(1))
            // Only that key's session.
            try await other.send(Envelope(.heartbeat(HeartbeatPayload(seq: 1)), messageID: "hb-1"))
            #expect(try await other.ack()?.seq == 1)
            let keys = try await server.store.listKeys()
            #expect(keys.first { $0.id == keyID }?.isRevoked == true)
        }
    }

    @Test("removing a user ends the sessions of their tools registered under their name")
    func removedUser() async throws {
        try await TestServer.with { server in
            _ = try await server.user("alice", role: .operator)
            let (peer, _) = try await self.registered(server, host: "alice", kind: .user)
            defer { Task { await peer.close() } }
            let answer = try await server.http("DELETE", "/api/users/alice")
            #expect(answer.status == 204)
            let response = try #require(try await peer.response(timeout: .seconds(1)))
            #expect(response.code == .revokedKey)
            #expect(response.message.contains("alice was removed"))
            #expect(try await peer.waitForClose(timeout: .seconds(1)))
        }
    }

    @Test("POST /api/keys answers an enrollment token: this server's bound agent port, the key, its CA's fingerprint")
    func enrollmentTokenFromTheAPI() async throws {
        try await TestServer.with { server in
            let body = try JSONSerialization.data(withJSONObject: ["hostname": "web-enrolled"])
            let answer = try await server.http("POST", "/api/keys", headers: ["Content-Type": "application/json"], body: body)
            #expect(answer.status == 201)
            let json = try #require(answer.json as? [String: Any])
            let text = try #require(json["enrollment_token"] as? String)
            let token = try EnrollmentToken(parsing: text)
            #expect(token.key == json["token"] as? String)
            #expect(token.host == "web-enrolled")
            #expect(token.servers == [ServerAddress(host: "127.0.0.1", port: server.agentPort)])
            #expect(token.caFingerprint == server.server.tls?.material.caFingerprint)
        }
    }
}
