import VigilProtocol

/// What can happen to an agent connection, as ``SessionStateMachine`` hears it.
enum SessionEvent: Sendable {
    /// The connection was counted in (under `agents.max_connections`) with this id.
    case connectionAdmitted(connectionID: UInt64)
    /// `agents.max_connections` is reached: the connection is answered and closed.
    case connectionRefused
    /// A frame arrived and parsed.
    case frameParsed(InboundFrame)
    /// A frame arrived whole but could not be parsed.
    case parseFailed(ProtocolViolation, readableMessageID: String?)
    /// The key check admitted the client.
    case authenticationSucceeded(AuthenticatedClient)
    /// The key check refused the client.
    case authenticationFailed(ProtocolViolation)
    /// The key check itself could not run (the database failed).
    case authenticationUnavailable
    /// `agents.handshake_timeout` has passed since the connection was admitted.
    case handshakeTimerFired
    /// Nothing was read for `agents.idle_timeout`.
    case readIdle
    /// Someone else wants the session closed with this answer: a newer connection under the same
    /// name, a part of the session (mailbox, transfers) that met a fatal fault, a revoked key.
    case closeRequested(ErrorCode, String)
    /// A cluster member sends the client to another (`redirect`, with `redirect_to`): it is at its
    /// capacity as the client registers, or it sheds load to a member that has less.
    case redirectRequested(to: String, message: String)
    /// A part of the session (mailbox, transfers) found a frame it was given unusable.
    case frameRefused(ProtocolViolation, inReplyTo: String?)
    /// The metrics ingestor refused a sample (stale, rate-limited, bad value): answered, not counted.
    case metricsRefused(ErrorCode, String, inReplyTo: String?)
    /// A part of the session stops or resumes reading for one reason.
    case readPauseChanged(ReadPause, paused: Bool)
    /// Every frame queued during the key check has been handled.
    case queueReplayed
    /// The socket's writability changed.
    case writabilityChanged(isWritable: Bool)
    /// The length field announced a frame over `agents.max_frame_size`.
    case frameTooLarge(String)
    /// The stream broke (closed mid-frame, an I/O error): close without an answer.
    case connectionFailed(cause: String)
    /// The server is shutting down.
    case quiesce
    /// The connection has closed.
    case channelInactive
}
