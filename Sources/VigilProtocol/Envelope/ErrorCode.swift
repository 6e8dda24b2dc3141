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
    // Messages: the message is not stored; the connection is kept (not counted).
    /// `CLIENT_MESSAGE.payload.recipient` names no client this server has ever registered.
    case unknownRecipient = "unknown_recipient"
    /// `CLIENT_MESSAGE.payload.content` is longer than `messages.max_content_bytes`, or empty.
    case invalidMessage = "invalid_message"
    // Files: in `FILE_REJECT` (before any byte) and `FILE_FAILED` (after).
    /// Larger than `files.max_file_size`.
    case fileTooLarge = "file_too_large"
    /// The sender's stored files plus this one would pass `files.quota_per_client`.
    case overQuota = "over_quota"
    /// The file name is empty, `.`, `..`, too long, or holds a separator or a control character.
    case invalidName = "invalid_name"
    /// Storing it would leave less than `files.min_free_disk` free.
    case insufficientDisk = "insufficient_disk"
    /// A file was already saved under this transfer id (`payload.file_id` names it).
    case duplicate = "duplicate"
    /// The transfer id is in use by another connection right now.
    case transferBusy = "transfer_busy"
    /// The offer itself is malformed: transfer id not a UUID, SHA-256 not 64 hex digits.
    case invalidOffer = "invalid_offer"
    /// A data frame for a transfer that is not open on this connection, or at the wrong offset.
    case unknownTransfer = "unknown_transfer"
    case badOffset = "bad_offset"
    /// The bytes received do not hash to the offered SHA-256.
    case checksumMismatch = "checksum_mismatch"
    /// More bytes arrived than offered.
    case sizeMismatch = "size_mismatch"
    /// The receiver could not write the file.
    case ioError = "io_error"
    /// The offer's recipient is not online to take the file.
    case recipientOffline = "recipient_offline"
    /// A client's answer to a file the server passes on: this client does not take files
    /// (`vigil chat`, or `vigil-agent` without `--inbox`).
    case filesNotAccepted = "files_not_accepted"
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
    /// A cluster member sends the client to another member (`redirect_to`, `host:port`): at its
    /// capacity when the client registers, or shedding load after a member joined. Not an error:
    /// the client connects there at once.
    case redirect = "redirect"
    case idleTimeout = "idle_timeout"
    case internalError = "internal_error"
    /// A plaintext frame on a listener that requires TLS from this peer: the server answers with a
    /// fatal `SERVER_RESPONSE` carrying this code, then closes. A client without TLS configured cannot
    /// cure it by retrying (a permanent refusal).
    case tlsRequired = "tls_required"
}
