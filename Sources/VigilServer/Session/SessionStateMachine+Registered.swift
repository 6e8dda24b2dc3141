import VigilProtocol

extension SessionStateMachine {
    /// A frame on a registered connection: each of the 17 message types goes where it belongs.
    mutating func receivedWhileRegistered(_ frame: ParsedFrame, _ client: RegisteredClient) -> SessionAction {
        let envelope: Envelope
        switch frame {
        case .invalid(let violation, let messageID):
            return self.violation(violation, inReplyTo: messageID)
        case .frame(.fileData(let data)):
            return .passDataToUploads(data)
        case .frame(.envelope(let parsed)):
            envelope = parsed
        }
        let messageID = Self.usableMessageID(envelope)
        switch envelope.body {
        case .heartbeat(let heartbeat):
            return .acknowledgeHeartbeat(seq: heartbeat.seq, client: client)
        case .clientUnregister(let unregister):
            let reason = unregister.reason.map { Self.truncated($0, toBytes: ProtocolLimits.maxReasonBytes) }
            // The client said goodbye: the tracker hears it from the unregister, not as a lost connection.
            self.phase = .closing(lost: nil)
            self.closeCause = "unregistered"
            return .unregister(client, reason: reason, goodbye: ServerResponsePayload(success: true, message: "goodbye", inReplyTo: messageID, fatal: true))
        case .metrics where client.kind != .agent:
            return self.violation(ProtocolViolation(.unexpectedType, "METRICS is sent by agents; this connection registered as a user"), inReplyTo: messageID)
        case .metrics(let document):
            return .ingestMetrics(document, hostname: client.clientID, inReplyTo: messageID)
        case .clientRegister:
            return self.violation(ProtocolViolation(.alreadyRegistered, "this connection is already registered as \(client.clientID)"), inReplyTo: messageID)
        case .clientMessage, .messageAck, .listClients:
            return .passToMailbox(envelope, messageID: messageID)
        case .fileOffer, .end:
            return .passToUploads(envelope, messageID: messageID)
        case .fileReady, .fileReject, .fileSaved, .fileFailed:
            return .passToPushes(envelope, messageID: messageID)
        case .serverResponse, .heartbeatAck, .clientList, .sessionUpdate:
            return self.violation(ProtocolViolation(.unexpectedType, "\(envelope.type.rawValue) is sent by servers, not clients"), inReplyTo: messageID)
        }
    }

    /// At most `limit` UTF-8 bytes, cut between characters.
    static func truncated(_ text: String, toBytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var bytes = 0
        return String(text.prefix { character in
            bytes += character.utf8.count
            return bytes <= limit
        })
    }
}
