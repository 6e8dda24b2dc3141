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
    /// Acknowledged once on disk by a `SERVER_RESPONSE` with `success: true` and `in_reply_to`; a
    /// refused sample is answered by a non-fatal `SERVER_RESPONSE` with `success: false`.
    case metrics = "METRICS"

    /// Either way: a text message. Client → server with `payload.recipient` (a client id, or null for
    /// broadcast); server → recipient with the original `sender_id` and `message_id`.
    case clientMessage = "CLIENT_MESSAGE"
    /// Either way: server → sender once the message is stored; recipient → server once it has the message.
    case messageAck = "MESSAGE_ACK"
    /// Client → server: who is online now. Answered by `CLIENT_LIST`.
    case listClients = "LIST_CLIENTS"
    /// Server → client: the answer to `LIST_CLIENTS`.
    case clientList = "CLIENT_LIST"
    /// Either way: the sender of a file offers it (transfer id, name, size, SHA-256).
    case fileOffer = "FILE_OFFER"
    /// Either way: the receiver takes the offered file from `payload.offset` (non-zero when resuming).
    case fileReady = "FILE_READY"
    /// Either way: the receiver refuses the offer, before any byte is sent.
    case fileReject = "FILE_REJECT"
    /// Either way: the receiver has the whole file, verified and durably stored.
    case fileSaved = "FILE_SAVED"
    /// Either way: the transfer failed (size or checksum wrong, disk error); nothing partial is visible.
    case fileFailed = "FILE_FAILED"
    /// Client → server: the sender has no more files to offer in this session.
    case end = "END"
    /// Server → client, to a registered client that listed the `session_update` capability: new
    /// session parameters (heartbeat and metrics intervals) after a configuration reload, applied
    /// without reconnecting.
    case sessionUpdate = "SESSION_UPDATE"
}
