import VigilMetrics

/// A JSON control message: `{"type", "sender_id", "payload", "timestamp", "message_id"}`.
///
/// The `type` is not stored separately: it is derived from ``body``, so a type and its payload can
/// never disagree.
public struct Envelope: Sendable, Equatable {
    /// The payload, tagged by message type.
    public enum Body: Sendable, Equatable {
        case clientRegister(RegisterPayload)
        case serverResponse(ServerResponsePayload)
        case heartbeat(HeartbeatPayload)
        case heartbeatAck(HeartbeatAckPayload)
        case clientUnregister(UnregisterPayload)
        case metrics(MetricsDocument)
        case clientMessage(ClientMessagePayload)
        case messageAck(MessageAckPayload)
        case listClients(ListClientsPayload)
        case clientList(ClientListPayload)
        case fileOffer(FileOfferPayload)
        case fileReady(FileReadyPayload)
        case fileReject(FileErrorPayload)
        case fileSaved(FileSavedPayload)
        case fileFailed(FileErrorPayload)
        case end(EndPayload)
        case sessionUpdate(SessionParameters)

        public var type: MessageType {
            switch self {
            case .clientRegister: .clientRegister
            case .serverResponse: .serverResponse
            case .heartbeat: .heartbeat
            case .heartbeatAck: .heartbeatAck
            case .clientUnregister: .clientUnregister
            case .metrics: .metrics
            case .clientMessage: .clientMessage
            case .messageAck: .messageAck
            case .listClients: .listClients
            case .clientList: .clientList
            case .fileOffer: .fileOffer
            case .fileReady: .fileReady
            case .fileReject: .fileReject
            case .fileSaved: .fileSaved
            case .fileFailed: .fileFailed
            case .end: .end
            case .sessionUpdate: .sessionUpdate
            }
        }
    }

    public var body: Body
    /// Who sent it. Servers ignore what clients put here and use the registered identity.
    public var senderID: String?
    /// Unix seconds when it was sent.
    public var timestamp: Double?
    /// Unix seconds a `timestamp` may hold: 1970 to the end of the year 9999.
    public static let timestampRange = MetricsDocument.ValueRange.unixSeconds
    /// A unique id (a UUID string) chosen by the sender; answers quote it as `in_reply_to`.
    public var messageID: String?

    public var type: MessageType { self.body.type }

    public init(_ body: Body, senderID: String? = nil, timestamp: Double? = nil, messageID: String? = nil) {
        self.body = body
        self.senderID = senderID
        self.timestamp = timestamp
        self.messageID = messageID
    }
}

extension Envelope: Codable {
    enum CodingKeys: String, CodingKey {
        case type, payload, timestamp
        case senderID = "sender_id"
        case messageID = "message_id"
    }

    /// Thrown while decoding when `type` names no message this build knows.
    struct UnknownType: Error {
        let type: String
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let rawType = try c.decode(String.self, forKey: .type)
        guard let type = MessageType(rawValue: rawType) else {
            throw UnknownType(type: rawType)
        }
        switch type {
        case .clientRegister: self.body = .clientRegister(try c.decode(RegisterPayload.self, forKey: .payload))
        case .serverResponse: self.body = .serverResponse(try c.decode(ServerResponsePayload.self, forKey: .payload))
        case .heartbeat: self.body = .heartbeat(try c.decode(HeartbeatPayload.self, forKey: .payload))
        case .heartbeatAck: self.body = .heartbeatAck(try c.decode(HeartbeatAckPayload.self, forKey: .payload))
        case .clientUnregister: self.body = .clientUnregister(try c.decode(UnregisterPayload.self, forKey: .payload))
        case .metrics: self.body = .metrics(try c.decode(MetricsDocument.self, forKey: .payload))
        case .clientMessage: self.body = .clientMessage(try c.decode(ClientMessagePayload.self, forKey: .payload))
        case .messageAck: self.body = .messageAck(try c.decode(MessageAckPayload.self, forKey: .payload))
        case .listClients: self.body = .listClients(try c.decode(ListClientsPayload.self, forKey: .payload))
        case .clientList: self.body = .clientList(try c.decode(ClientListPayload.self, forKey: .payload))
        case .fileOffer: self.body = .fileOffer(try c.decode(FileOfferPayload.self, forKey: .payload))
        case .fileReady: self.body = .fileReady(try c.decode(FileReadyPayload.self, forKey: .payload))
        case .fileReject: self.body = .fileReject(try c.decode(FileErrorPayload.self, forKey: .payload))
        case .fileSaved: self.body = .fileSaved(try c.decode(FileSavedPayload.self, forKey: .payload))
        case .fileFailed: self.body = .fileFailed(try c.decode(FileErrorPayload.self, forKey: .payload))
        case .end: self.body = .end(try c.decode(EndPayload.self, forKey: .payload))
        case .sessionUpdate: self.body = .sessionUpdate(try c.decode(SessionParameters.self, forKey: .payload))
        }
        self.senderID = try c.decodeIfPresent(String.self, forKey: .senderID)
        self.timestamp = try c.decodeIfPresent(Double.self, forKey: .timestamp)
        if let timestamp = self.timestamp, !Self.timestampRange.contains(timestamp) {
            // A message's send time is stored and shown: a year past 9999 is no time at all.
            throw DecodingError.dataCorruptedError(forKey: .timestamp, in: c, debugDescription: "\(timestamp) is outside \(Self.timestampRange.lowerBound)...\(Self.timestampRange.upperBound) (Unix seconds up to the year 9999)")
        }
        self.messageID = try c.decodeIfPresent(String.self, forKey: .messageID)
        // A version-0 register names its client in the envelope, not in the payload.
        if case .clientRegister(var register) = self.body, register.protocolVersion == ProtocolVersion.legacy,
           register.hostname.isEmpty, let sender = self.senderID {
            register.hostname = sender
            self.body = .clientRegister(register)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(self.type, forKey: .type)
        try c.encodeIfPresent(self.senderID, forKey: .senderID)
        switch self.body {
        case .clientRegister(let p): try c.encode(p, forKey: .payload)
        case .serverResponse(let p): try c.encode(p, forKey: .payload)
        case .heartbeat(let p): try c.encode(p, forKey: .payload)
        case .heartbeatAck(let p): try c.encode(p, forKey: .payload)
        case .clientUnregister(let p): try c.encode(p, forKey: .payload)
        case .metrics(let p): try c.encode(p, forKey: .payload)
        case .clientMessage(let p): try c.encode(p, forKey: .payload)
        case .messageAck(let p): try c.encode(p, forKey: .payload)
        case .listClients(let p): try c.encode(p, forKey: .payload)
        case .clientList(let p): try c.encode(p, forKey: .payload)
        case .fileOffer(let p): try c.encode(p, forKey: .payload)
        case .fileReady(let p): try c.encode(p, forKey: .payload)
        case .fileReject(let p): try c.encode(p, forKey: .payload)
        case .fileSaved(let p): try c.encode(p, forKey: .payload)
        case .fileFailed(let p): try c.encode(p, forKey: .payload)
        case .end(let p): try c.encode(p, forKey: .payload)
        case .sessionUpdate(let p): try c.encode(p, forKey: .payload)
        }
        try c.encodeIfPresent(self.timestamp, forKey: .timestamp)
        try c.encodeIfPresent(self.messageID, forKey: .messageID)
    }
}
