import Foundation
import Testing
import VigilProtocol
@testable import VigilServer

/// A person's tool or an agent, as a raw peer that speaks messaging.
extension RawPeer {
    /// Connects and registers (a user by default, with open enrollment unless a key is given);
    /// records an issue and throws when the server refuses.
    static func join(
        _ server: TestServer, as name: String, kind: ClientKind = .user, key: String? = nil, capabilities: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> RawPeer {
        let peer = try await RawPeer.connect(port: server.agentPort)
        try await peer.send(Envelope(.clientRegister(RegisterPayload(key: key, hostname: name, capabilities: capabilities, kind: kind)), messageID: "reg-\(name)"))
        let reply = try #require(try await peer.response(), "no register reply for \(name)", sourceLocation: sourceLocation)
        try #require(reply.success, "\(name) was refused: \(reply.code?.rawValue ?? "-") \(reply.message)", sourceLocation: sourceLocation)
        #expect(reply.session?.clientID == name, sourceLocation: sourceLocation)
        return peer
    }

    /// Sends a `CLIENT_MESSAGE`; returns its message id.
    @discardableResult
    func say(_ content: String, to recipient: String?, id: String = UUID().uuidString.lowercased(), seq: UInt64? = nil) async throws -> String {
        try await self.send(Envelope(.clientMessage(ClientMessagePayload(content: content, recipient: recipient, seq: seq)), timestamp: Date().timeIntervalSince1970, messageID: id))
        return id
    }

    /// Acknowledges a message received.
    func acknowledge(_ messageID: String) async throws {
        try await self.send(Envelope(.messageAck(MessageAckPayload(ackedMessageID: messageID)), messageID: UUID().uuidString.lowercased()))
    }

    /// The next frame other than a `HEARTBEAT_ACK`; throws when the connection closed first.
    func frame(timeout: Duration = .seconds(5)) async throws -> Envelope {
        while true {
            guard let envelope = try await self.next(timeout: timeout) else {
                throw TimeoutError(description: "the server closed the connection")
            }
            if case .heartbeatAck = envelope.body { continue }
            return envelope
        }
    }

    /// The next frame, which must be the server's `MESSAGE_ACK` for `id`; returns its status.
    @discardableResult
    func expectAck(_ id: String, _ status: String = MessageAckPayload.stored, sourceLocation: SourceLocation = #_sourceLocation) async throws -> MessageAckPayload? {
        let envelope = try await self.frame()
        guard case .messageAck(let ack) = envelope.body else {
            Issue.record("expected MESSAGE_ACK for \(id), got \(envelope)", sourceLocation: sourceLocation)
            return nil
        }
        #expect(ack.ackedMessageID == id, sourceLocation: sourceLocation)
        #expect(ack.status == status, sourceLocation: sourceLocation)
        #expect(envelope.senderID == "server", sourceLocation: sourceLocation)
        return ack
    }

    /// The next frame, which must be a refusal (`SERVER_RESPONSE`, not fatal) with `code`, quoting `id`.
    func expectRefusal(_ code: ErrorCode, inReplyTo id: String?, sourceLocation: SourceLocation = #_sourceLocation) async throws -> ServerResponsePayload? {
        let envelope = try await self.frame()
        guard case .serverResponse(let response) = envelope.body else {
            Issue.record("expected a refusal \(code.rawValue), got \(envelope)", sourceLocation: sourceLocation)
            return nil
        }
        #expect(!response.success, sourceLocation: sourceLocation)
        #expect(response.code == code, "\(response.message)", sourceLocation: sourceLocation)
        #expect(response.inReplyTo == id, sourceLocation: sourceLocation)
        #expect(!response.fatal, sourceLocation: sourceLocation)
        return response
    }

    /// A message delivered to this peer.
    struct Received: Equatable {
        var sender: String?
        var messageID: String?
        var payload: ClientMessagePayload
        var content: String { self.payload.content }
    }

    /// The next frame, which must be a delivered `CLIENT_MESSAGE`.
    func expectMessage(timeout: Duration = .seconds(5), sourceLocation: SourceLocation = #_sourceLocation) async throws -> Received {
        let envelope = try await self.frame(timeout: timeout)
        guard case .clientMessage(let payload) = envelope.body else {
            Issue.record("expected CLIENT_MESSAGE, got \(envelope)", sourceLocation: sourceLocation)
            throw TimeoutError(description: "unexpected frame \(envelope.type)")
        }
        return Received(sender: envelope.senderID, messageID: envelope.messageID, payload: payload)
    }

    /// Receives `count` messages, acknowledging each; returns their contents in order.
    func receiveAll(_ count: Int, acknowledging: Bool = true) async throws -> [String] {
        var contents: [String] = []
        for _ in 0..<count {
            let message = try await self.expectMessage()
            contents.append(message.content)
            if acknowledging, let id = message.messageID { try await self.acknowledge(id) }
        }
        return contents
    }

    /// Asks who is online.
    func listClients() async throws -> [ClientListPayload.Client] {
        try await self.send(Envelope(.listClients(ListClientsPayload()), messageID: UUID().uuidString.lowercased()))
        let envelope = try await self.frame()
        guard case .clientList(let list) = envelope.body else {
            Issue.record("expected CLIENT_LIST, got \(envelope)")
            return []
        }
        return list.clients
    }
}

/// Runs `body` against a fresh server with open enrollment, then stops it (and removes its
/// directory unless `keepingFiles`).
func withMessagingServer(directory: URL? = nil, keepingFiles: Bool = false, _ configure: @Sendable @escaping (inout ServerSettings) -> Void = { _ in }, _ body: (TestServer) async throws -> Void) async throws {
    try await TestServer.with(directory: directory, keepingFiles: keepingFiles, { settings in
        settings.openEnrollment = true
        configure(&settings)
    }, body)
}

extension TestServer {
    /// A server with open enrollment (users join by name) and the given changes.
    static func messaging(directory: URL? = nil, _ configure: @Sendable @escaping (inout ServerSettings) -> Void = { _ in }) async throws -> TestServer {
        try await TestServer.start(directory: directory) { settings in
            settings.openEnrollment = true
            configure(&settings)
        }
    }
}
