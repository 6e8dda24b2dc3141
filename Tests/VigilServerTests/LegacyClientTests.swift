import Foundation
import Testing
import VigilProtocol
@testable import VigilServer

/// Protocol version 0: the envelope-only client of the original messaging design registers with
/// an empty payload (its name is `sender_id`) and then messages like any version-1 client.
@Suite("Protocol version 0: the original messaging client", .serialized, .timeLimit(.minutes(2)))
struct LegacyClientTests {
    /// Exactly what the original client sends: no protocol version, no hostname, no key.
    static func registerFrame(_ name: String, id: String) -> String {
        #"{"type":"CLIENT_REGISTER","sender_id":"\#(name)","payload":{},"timestamp":\#(Date().timeIntervalSince1970),"message_id":"\#(id)"}"#
    }

    /// Connects and sends the version-0 register; returns the peer and the register reply.
    static func registerV0(_ server: TestServer, as name: String) async throws -> (RawPeer, ServerResponsePayload?, String) {
        let peer = try await RawPeer.connect(port: server.agentPort)
        let id = UUID().uuidString.lowercased()
        try await peer.send(json: Self.registerFrame(name, id: id))
        return (peer, try await peer.response(), id)
    }

    /// A `CLIENT_MESSAGE` as the original client writes it (`recipient` null for everyone).
    static func messageFrame(from name: String, _ content: String, to recipient: String?, id: String, seq: Int) -> String {
        let to = recipient.map { "\"\($0)\"" } ?? "null"
        return #"{"type":"CLIENT_MESSAGE","sender_id":"\#(name)","payload":{"content":"\#(content)","recipient":\#(to),"seq":\#(seq)},"timestamp":\#(Date().timeIntervalSince1970),"message_id":"\#(id)"}"#
    }

    static func ackFrame(from name: String, _ messageID: String) -> String {
        #"{"type":"MESSAGE_ACK","sender_id":"\#(name)","payload":{"acked_message_id":"\#(messageID)"},"timestamp":\#(Date().timeIntervalSince1970),"message_id":"\#(UUID().uuidString.lowercased())"}"#
    }

    @Test("under open enrollment the empty-payload register is version 0, named by sender_id; private, broadcast, acks and a resend delivered once work as for version 1")
    func messagingUnderOpenEnrollment() async throws {
        try await withMessagingServer { server in
            let (alice, reply, registerID) = try await Self.registerV0(server, as: "alice")
            let registered = try #require(reply)
            #expect(registered.success, "\(registered.code?.rawValue ?? "-"): \(registered.message)")
            #expect(registered.inReplyTo == registerID)
            #expect(registered.session?.clientID == "alice")
            #expect(registered.session?.protocolVersion == 0)
            #expect(registered.session?.heartbeatInterval == server.server.sessions.settings.heartbeatInterval.seconds)
            let bob = try await RawPeer.join(server, as: "bob")

            // alice → bob, private.
            try await alice.send(json: Self.messageFrame(from: "alice", "hi bob", to: "bob", id: "m-1", seq: 1))
            try await alice.expectAck("m-1")
            let privateMessage = try await bob.expectMessage()
            #expect(privateMessage.sender == "alice" && privateMessage.messageID == "m-1" && privateMessage.content == "hi bob")
            #expect(privateMessage.payload.recipient == "bob" && privateMessage.payload.seq == 1)
            try await bob.acknowledge("m-1")

            // alice → everyone, "recipient": null.
            try await alice.send(json: Self.messageFrame(from: "alice", "hello all", to: nil, id: "m-2", seq: 2))
            try await alice.expectAck("m-2")
            let broadcast = try await bob.expectMessage()
            #expect(broadcast.sender == "alice" && broadcast.messageID == "m-2" && broadcast.payload.recipient == nil)
            try await bob.acknowledge("m-2")

            // A resend of m-1 (same message id): acknowledged as a duplicate, not delivered again.
            try await alice.send(json: Self.messageFrame(from: "alice", "hi bob", to: "bob", id: "m-1", seq: 1))
            try await alice.expectAck("m-1", MessageAckPayload.duplicate)

            // bob → alice, private and broadcast: alice receives both and acknowledges them.
            let toAlice = try await bob.say("hi alice", to: "alice")
            try await bob.expectAck(toAlice)
            let everyone = try await bob.say("hello everyone", to: nil)
            try await bob.expectAck(everyone)
            let first = try await alice.expectMessage()
            #expect(first.sender == "bob" && first.messageID == toAlice && first.content == "hi alice")
            try await alice.send(json: Self.ackFrame(from: "alice", toAlice))
            let second = try await alice.expectMessage()
            #expect(second.sender == "bob" && second.messageID == everyone && second.payload.recipient == nil)
            try await alice.send(json: Self.ackFrame(from: "alice", everyone))

            // bob got nothing twice: his next message is a sentinel from alice.
            try await alice.send(json: Self.messageFrame(from: "alice", "sentinel", to: "bob", id: "m-3", seq: 3))
            try await alice.expectAck("m-3")
            #expect(try await bob.expectMessage().messageID == "m-3")

            // alice's acknowledgements counted: a new version-0 session of hers gets nothing old.
            await alice.close()
            let (back, again, _) = try await Self.registerV0(server, as: "alice")
            #expect(again?.success == true)
            let sentinel = try await bob.say("after the reconnect", to: "alice")
            try await bob.expectAck(sentinel)
            #expect(try await back.expectMessage().messageID == sentinel, "acknowledged mail is not delivered again")
            // A clean goodbye.
            try await back.send(json: #"{"type":"CLIENT_UNREGISTER","sender_id":"alice","payload":{},"timestamp":1.0,"message_id":"bye"}"#)
            let goodbye = try #require(try await back.response())
            #expect(goodbye.success && goodbye.fatal && goodbye.inReplyTo == "bye")
            await back.close(); await bob.close()
        }
    }

    @Test("without open enrollment the version-0 register is refused with the precise error")
    func refusedWithoutOpenEnrollment() async throws {
        try await TestServer.with { server in
            let (peer, reply, registerID) = try await Self.registerV0(server, as: "alice")
            let refusal = try #require(reply)
            #expect(!refusal.success && refusal.fatal)
            #expect(refusal.code == .missingField)
            #expect(refusal.message == "payload.protocol_version: required field is missing")
            #expect(refusal.inReplyTo == registerID)
            #expect(try await peer.waitForClose())
        }
    }

    @Test("a name in agents.legacy_clients registers as version 0 without open enrollment; others are refused; a keyed name is not taken")
    func listedLegacyClients() async throws {
        try await TestServer.with({ $0.legacyClients = ["alice", "carol"] }) { server in
            let (alice, reply, _) = try await Self.registerV0(server, as: "alice")
            #expect(reply?.success == true, "\(reply?.message ?? "-")")
            #expect(reply?.session?.clientID == "alice")
            let (mallory, refused, _) = try await Self.registerV0(server, as: "mallory")
            #expect(refused?.code == .missingField)
            #expect(try await mallory.waitForClose())
            // A version-1 client without a key is still refused: the list is for version 0 only.
            let v1 = try await RawPeer.connect(port: server.agentPort)
            try await v1.register(key: nil, hostname: "alice")
            #expect(try await v1.response()?.code == .keyRequired)
            // A listed name bound to a key needs the key.
            _ = try await server.key(for: "carol")
            let (carol, bound, _) = try await Self.registerV0(server, as: "carol")
            #expect(bound?.code == .hostnameBoundToKey)
            #expect(try await carol.waitForClose())
            await alice.close()
        }
    }

    @Test("agents.legacy_clients: a comma-separated string (environment) or a YAML list; a name that is not a client id stops the start")
    func legacyClientsSetting() async throws {
        let fromEnvironment = try await ServerSettings.load(environment: ["VIGIL_AGENTS_LEGACY_CLIENTS": "alice, bob,carol"])
        #expect(fromEnvironment.legacyClients == ["alice", "bob", "carol"])
        #expect(try await ServerSettings.load(environment: [:]).legacyClients.isEmpty)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-legacy-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("agents:\n  legacy_clients:\n    - alice\n    - bob\n".utf8).write(to: file)
        #expect(try await ServerSettings.load(file: file.path, environment: [:]).legacyClients == ["alice", "bob"])
        for bad in ["alice,.hidden", "server", "al ice"] {
            let error = await #expect(throws: ConfigurationError.self) { try await ServerSettings.load(environment: ["VIGIL_AGENTS_LEGACY_CLIENTS": bad]) }
            #expect(error?.description.contains("agents.legacy_clients") == true, "\(bad): \(error?.description ?? "-")")
        }
    }

    @Test("a version-0 session sends no heartbeats and is not closed for idling; a version-1 one is")
    func noIdleTimeout() async throws {
        try await withMessagingServer({ settings in
            settings.heartbeatInterval = .milliseconds(100)
            settings.idleTimeoutSetting = .milliseconds(600)
        }) { server in
            let (legacy, reply, _) = try await Self.registerV0(server, as: "alice")
            #expect(reply?.success == true)
            let modern = try await RawPeer.join(server, as: "bob")
            let idle = try #require(try await modern.response(timeout: .seconds(5)))
            #expect(idle.code == .idleTimeout)
            // alice, silent for as long, still gets her mail.
            let sender = try await RawPeer.join(server, as: "carol")
            let id = try await sender.say("still there?", to: "alice")
            try await sender.expectAck(id)
            #expect(try await legacy.expectMessage().messageID == id)
            await legacy.close(); await sender.close(); await modern.close()
        }
    }
}
