import Foundation
import Testing
import VigilProtocol
@testable import VigilServer

/// A closed connection must leave nothing behind: its handler, mailbox and transfers hold links
/// to each other, and a cycle among them would keep every connection ever made in memory.
@Suite("Session lifetime")
struct SessionLifetimeTests {
    @Test("closed sessions are freed, whatever they did: heartbeats, messages, a file transfer")
    func closedSessionsAreFreed() async throws {
        try await withMessagingServer { server in
            let environment = server.server.sessions
            let alice = try await RawPeer.join(server, as: "alice")
            let bob = try await RawPeer.join(server, as: "bob")
            let host = try await RawPeer.join(server, as: "web-1", kind: .agent)
            try await host.send(Envelope(.heartbeat(HeartbeatPayload(seq: 1))))
            _ = try await host.ack()
            let id = try await alice.say("hello", to: "bob")
            _ = try await alice.expectAck(id)
            let received = try await bob.expectMessage()
            try await bob.acknowledge(try #require(received.messageID))
            // A transfer left half way keeps its partial for a resume, but not the connection.
            let transfer = UUID()
            try await alice.send(Envelope(.fileOffer(FileOfferPayload(transferID: transfer.uuidString.lowercased(), filename: "half.bin", size: 8, sha256: String(repeating: "0", count: 64))), messageID: "offer-1"))
            guard case .fileReady = try await alice.nextAnswer() else {
                Issue.record("the offer was not answered FILE_READY")
                return
            }
            try await alice.send(data: FileDataFrame(transferID: transfer, offset: 0, data: .init(bytes: [1, 2, 3, 4])))
            #expect(environment.sessionsInMemory == 3)
            for peer in [alice, bob, host] { await peer.close() }
            try await eventually(timeout: .seconds(10), "every closed session to be freed (\(environment.sessionsInMemory) left)") {
                environment.openConnections == 0 && environment.sessionsInMemory == 0
            }
        }
    }
}
