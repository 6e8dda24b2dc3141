/// The `type` of a JSON envelope. Raw values are what travels on the wire.
public enum MessageType: String, Sendable, CaseIterable, Codable {
    /// Client → server, first frame of every connection: identity, key, protocol version.
    case clientRegister = "CLIENT_REGISTER"
    /// Server → client: the answer to a register, an unregister, or any request that failed.
    case serverResponse = "SERVER_RESPONSE"
    /// Client → server, every heartbeat interval.
    case heartbeat = "HEARTBEAT"
    /// Server → client, the answer to each heartbeat, so agents can tell a dead server from a quiet one.
    case heartbeatAck = "HEARTBEAT_ACK"
    /// Client → server: a clean goodbye; the host is STOPPED, not DOWN.
    case clientUnregister = "CLIENT_UNREGISTER"
    /// Client → server, every sample interval: one metrics document (the body of `POST /api/metrics`).
    /// Not acknowledged; a refused sample is answered by a non-fatal `SERVER_RESPONSE`.
    case metrics = "METRICS"
}
