/// Machine-readable reasons carried in `SERVER_RESPONSE.payload.code` when `success` is false.
///
/// Clients switch on these; the accompanying `message` is for people and may change between versions.
public enum ErrorCode: String, Sendable, Codable, CaseIterable {
    // Framing: the stream is out of step, the connection is closed.
    case frameTooLarge = "frame_too_large"
    // Frame content: the frame is discarded; fatal before registration, not after.
    case emptyFrame = "empty_frame"
    case unknownBinaryKind = "unknown_binary_kind"
    case invalidUTF8 = "invalid_utf8"
    case invalidJSON = "invalid_json"
    case missingField = "missing_field"
    case invalidField = "invalid_field"
    case unknownType = "unknown_type"
    case unexpectedType = "unexpected_type"
    // Limits: the frame is discarded, the connection kept.
    case rateLimited = "rate_limited"
    /// A metrics sample not newer than the host's latest one (a resend, or a clock stepped back).
    case staleSample = "stale_sample"
    /// The server cannot take more now (its write queue is full); retry later.
    case serverBusy = "server_busy"
    // Session order.
    case notRegistered = "not_registered"
    case alreadyRegistered = "already_registered"
    case handshakeTimeout = "handshake_timeout"
    // Registration refused.
    case invalidKey = "invalid_key"
    case revokedKey = "revoked_key"
    case keyRequired = "key_required"
    case hostnameBoundToKey = "hostname_bound_to_key"
    case invalidHostname = "invalid_hostname"
    case unsupportedVersion = "unsupported_version"
    // Connection management.
    case serverFull = "server_full"
    case tooManyErrors = "too_many_errors"
    case superseded = "superseded"
    case idleTimeout = "idle_timeout"
    case internalError = "internal_error"
}
