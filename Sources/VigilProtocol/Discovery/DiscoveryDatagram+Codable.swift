extension DiscoveryDatagram: Codable {
    /// Thrown while decoding when `type` is not a discovery type (a TCP message type included).
    struct UnknownType: Error {
        let type: String
    }

    // The envelope's own field names (PROTOCOL.md §3), so the two cannot drift apart.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Envelope.CodingKeys.self)
        let rawType = try c.decode(String.self, forKey: .type)
        guard let type = DiscoveryMessageType(rawValue: rawType) else { throw UnknownType(type: rawType) }
        switch type {
        case .serverDiscovery: self.body = .discovery(try c.decode(ServerDiscoveryPayload.self, forKey: .payload))
        case .serverAnnounce: self.body = .announce(try c.decode(ServerAnnouncePayload.self, forKey: .payload))
        }
        self.senderID = try c.decodeIfPresent(String.self, forKey: .senderID)
        self.timestamp = try c.decodeIfPresent(Double.self, forKey: .timestamp)
        if let timestamp = self.timestamp, !Envelope.timestampRange.contains(timestamp) {
            throw DecodingError.dataCorruptedError(forKey: .timestamp, in: c, debugDescription: "\(timestamp) is outside \(Envelope.timestampRange.lowerBound)...\(Envelope.timestampRange.upperBound) (Unix seconds up to the year 9999)")
        }
        self.messageID = try c.decodeIfPresent(String.self, forKey: .messageID)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Envelope.CodingKeys.self)
        try c.encode(self.type.rawValue, forKey: .type)
        try c.encodeIfPresent(self.senderID, forKey: .senderID)
        switch self.body {
        case .discovery(let p): try c.encode(p, forKey: .payload)
        case .announce(let p): try c.encode(p, forKey: .payload)
        }
        try c.encodeIfPresent(self.timestamp, forKey: .timestamp)
        try c.encodeIfPresent(self.messageID, forKey: .messageID)
    }
}
