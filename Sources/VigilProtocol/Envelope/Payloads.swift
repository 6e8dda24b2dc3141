/// `CLIENT_REGISTER.payload`: who the client is and what it speaks.
public struct RegisterPayload: Codable, Sendable, Equatable {
    /// The agent key (`vk_<id>_<secret>`), or `nil` where the server runs with open enrollment.
    public var key: String?
    public var protocolVersion: Int
    /// The name the client reports. When the key is bound to a host, the key's host wins.
    public var hostname: String
    /// Features the client supports, e.g. `["heartbeat"]`.
    public var capabilities: [String]
    /// The client software and version, e.g. `vigil-agent/0.1.0`.
    public var agentVersion: String?
    /// A monitored host (the default) or a person's tool, which is never DOWN.
    public var kind: ClientKind

    public init(key: String?, protocolVersion: Int = ProtocolVersion.current, hostname: String, capabilities: [String] = ["heartbeat"], agentVersion: String? = nil, kind: ClientKind = .agent) {
        self.key = key
        self.protocolVersion = protocolVersion
        self.hostname = hostname
        self.capabilities = capabilities
        self.agentVersion = agentVersion
        self.kind = kind
    }

    enum CodingKeys: String, CodingKey {
        case key, hostname, capabilities, kind, name
        case protocolVersion = "protocol_version"
        case agentVersion = "agent_version"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.key = try c.decodeIfPresent(String.self, forKey: .key)
        // No version at all is version 0, the envelope-only client (`"payload": {}`); `null` is still
        // a mistyped field, not an absent one.
        let versioned = c.contains(.protocolVersion)
        self.protocolVersion = versioned ? try c.decode(Int.self, forKey: .protocolVersion) : ProtocolVersion.legacy
        if versioned, self.protocolVersion == ProtocolVersion.legacy {
            // Version 0 means "the original client, which sends no version": a client that names a
            // version must name one it speaks, or it would pass the legacy gate with a key.
            throw DecodingError.dataCorruptedError(forKey: .protocolVersion, in: c, debugDescription: "0 is what leaving the field out means; send the version you speak (\(ProtocolVersion.supported.lowerBound)...\(ProtocolVersion.supported.upperBound))")
        }
        // People's clients may say `name`; `hostname` wins when both are present.
        if let hostname = try c.decodeIfPresent(String.self, forKey: .hostname) {
            self.hostname = hostname
        } else if let name = try c.decodeIfPresent(String.self, forKey: .name) {
            self.hostname = name
        } else if !versioned {
            self.hostname = ""  // version 0 is named by the envelope's `sender_id` (see Envelope)
        } else {
            self.hostname = try c.decode(String.self, forKey: .hostname)  // throws: missing
        }
        self.capabilities = try c.decodeIfPresent([String].self, forKey: .capabilities) ?? []
        self.agentVersion = try c.decodeIfPresent(String.self, forKey: .agentVersion)
        // The original messaging client is a person's chat client: no liveness, never DOWN.
        self.kind = try c.decodeIfPresent(ClientKind.self, forKey: .kind) ?? (versioned ? .agent : .user)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(self.key, forKey: .key)
        try c.encode(self.protocolVersion, forKey: .protocolVersion)
        try c.encode(self.hostname, forKey: .hostname)
        try c.encode(self.capabilities, forKey: .capabilities)
        try c.encodeIfPresent(self.agentVersion, forKey: .agentVersion)
        if self.kind != .agent {
            try c.encode(self.kind, forKey: .kind)
        }
    }

    /// The capability a client lists to receive the server's notices (host DOWN, RECOVERED, …) as messages.
    public static let noticesCapability = "notices"

    /// The capability a client lists when its connection only sends (`vigil send`, `vigil send-file`):
    /// the server replays and pushes no mail to it and keeps it out of the directory of online
    /// clients (not listed, neither supersedes nor is superseded by another connection of the same
    /// name), so a script sending as alice neither takes alice's mail nor closes her chat.
    public static let sendOnlyCapability = "send_only"

    /// The capability a client lists when it follows `redirect` answers (connects to `redirect_to`
    /// at once): only such clients are redirected by a member at capacity or shed to balance load.
    public static let redirectCapability = "redirect"
}

extension RegisterPayload: CustomStringConvertible, CustomDebugStringConvertible {
    /// Everything but the key, so interpolating a payload into a log line cannot leak it.
    public var description: String {
        "RegisterPayload(key: \(self.key == nil ? "none" : "<hidden>"), protocol_version: \(self.protocolVersion), hostname: \(self.hostname.debugDescription), kind: \(self.kind.rawValue), capabilities: \(self.capabilities), agent_version: \(self.agentVersion.debugDescription))"
    }
    public var debugDescription: String { self.description }
}

/// The parameters a server fixes for a session, sent in a successful register reply.
public struct SessionParameters: Codable, Sendable, Equatable {
    /// The identity the server gave this client: the host name its key is bound to.
    public var clientID: String
    public var hostname: String
    public var serverID: String
    public var protocolVersion: Int
    /// Seconds between heartbeats the client must keep.
    public var heartbeatInterval: Double
    /// The largest frame payload the server accepts, in bytes.
    public var maxFrameSize: Int
    /// Seconds between metrics samples the server asks for (`agents.metrics_interval`); absent when
    /// the server leaves it to the agent's own setting.
    public var metricsInterval: Double?
    /// Where the live servers of the cluster take agents (`host:port`, this one included), when
    /// servers share a database: a client whose server dies reconnects to one of these at once.
    /// Absent for a single server.
    public var servers: [String]?

    /// The capability a client lists in `CLIENT_REGISTER` to receive `SESSION_UPDATE`: new session
    /// parameters applied without reconnecting. Clients without it keep what they registered with.
    public static let updateCapability = "session_update"

    public init(clientID: String, hostname: String, serverID: String, protocolVersion: Int, heartbeatInterval: Double, maxFrameSize: Int, metricsInterval: Double? = nil, servers: [String]? = nil) {
        self.servers = servers
        self.clientID = clientID
        self.hostname = hostname
        self.serverID = serverID
        self.protocolVersion = protocolVersion
        self.heartbeatInterval = heartbeatInterval
        self.maxFrameSize = maxFrameSize
        self.metricsInterval = metricsInterval
    }

    enum CodingKeys: String, CodingKey {
        case hostname
        case clientID = "client_id"
        case serverID = "server_id"
        case protocolVersion = "protocol_version"
        case heartbeatInterval = "heartbeat_interval"
        case maxFrameSize = "max_frame_size"
        case metricsInterval = "metrics_interval"
        case servers
    }
}

/// `SERVER_RESPONSE.payload`.
public struct ServerResponsePayload: Codable, Sendable, Equatable {
    public var success: Bool
    public var message: String
    /// Why it failed; `nil` on success.
    public var code: ErrorCode?
    /// The `message_id` of the frame this answers, when it had one.
    public var inReplyTo: String?
    /// True when the server closes the connection right after this response.
    public var fatal: Bool
    /// Present on a successful register reply.
    public var session: SessionParameters?
    /// With code `redirect`: the member to connect to instead, `host:port`.
    public var redirectTo: String?

    public init(success: Bool, message: String, code: ErrorCode? = nil, inReplyTo: String? = nil, fatal: Bool = false, session: SessionParameters? = nil, redirectTo: String? = nil) {
        self.success = success
        self.message = message
        self.code = code
        self.inReplyTo = inReplyTo
        self.fatal = fatal
        self.session = session
        self.redirectTo = redirectTo
    }

    enum CodingKeys: String, CodingKey {
        case success, message, code, fatal, session
        case inReplyTo = "in_reply_to"
        case redirectTo = "redirect_to"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.success = try c.decode(Bool.self, forKey: .success)
        self.message = try c.decode(String.self, forKey: .message)
        // A code this build does not know (from a newer server) must not make the whole answer unreadable.
        self.code = (try? c.decodeIfPresent(String.self, forKey: .code)).flatMap { $0.flatMap(ErrorCode.init(rawValue:)) }
        self.inReplyTo = try c.decodeIfPresent(String.self, forKey: .inReplyTo)
        self.fatal = try c.decodeIfPresent(Bool.self, forKey: .fatal) ?? false
        self.session = try c.decodeIfPresent(SessionParameters.self, forKey: .session)
        self.redirectTo = try c.decodeIfPresent(String.self, forKey: .redirectTo)
    }
}

/// `HEARTBEAT.payload`.
public struct HeartbeatPayload: Codable, Sendable, Equatable {
    /// Increases by one per heartbeat on a connection, starting at 1.
    public var seq: UInt64

    public init(seq: UInt64) {
        self.seq = seq
    }
}

/// `HEARTBEAT_ACK.payload`.
public struct HeartbeatAckPayload: Codable, Sendable, Equatable {
    /// The `seq` of the heartbeat acknowledged.
    public var seq: UInt64
    /// The server's clock, Unix seconds, so a client can estimate skew.
    public var serverTime: Double

    public init(seq: UInt64, serverTime: Double) {
        self.seq = seq
        self.serverTime = serverTime
    }

    enum CodingKeys: String, CodingKey {
        case seq
        case serverTime = "server_time"
    }
}

/// `CLIENT_UNREGISTER.payload`.
public struct UnregisterPayload: Codable, Sendable, Equatable {
    /// Free text recorded with the STOPPED event, e.g. `SIGTERM`.
    public var reason: String?

    public init(reason: String? = nil) {
        self.reason = reason
    }
}
