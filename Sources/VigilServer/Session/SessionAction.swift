import VigilMetrics
import VigilProtocol

/// What ``SessionStateMachine`` asks its handler to do.
enum SessionAction: Equatable, Sendable {
    case nothing
    /// Arm the `agents.handshake_timeout` timer (it feeds ``SessionEvent/handshakeTimerFired``).
    case scheduleHandshakeTimeout
    /// Stop reading, then check the register's key off the event loop; the result comes back as an
    /// authentication event. Frames already read meanwhile are queued by the state machine.
    case startAuthentication(RegisterPayload)
    /// Cancel the handshake timer, register with the liveness tracker (agents), set up the mailbox
    /// and transfers and answer the `CLIENT_REGISTER`; then replay the queued frames
    /// (``SessionStateMachine/nextQueuedFrame()``) and send ``SessionEvent/queueReplayed``.
    case completeRegistration(SessionRegistration)
    /// Answer a `HEARTBEAT` with `HEARTBEAT_ACK` for `seq` (and tell the tracker, for an agent).
    case acknowledgeHeartbeat(seq: UInt64, client: RegisteredClient)
    /// Hand a `METRICS` sample to the ingestor; it is acknowledged once stored.
    case ingestMetrics(MetricsDocument, hostname: String, inReplyTo: String?)
    /// `CLIENT_MESSAGE`, `MESSAGE_ACK`, `LIST_CLIENTS`: for the session's mailbox.
    case passToMailbox(Envelope, messageID: String?)
    /// `FILE_OFFER`, `END`: for the session's uploads (client → server).
    case passToUploads(Envelope, messageID: String?)
    /// A binary file data frame: for the session's uploads.
    case passDataToUploads(FileDataFrame)
    /// `FILE_READY`, `FILE_REJECT`, `FILE_SAVED`, `FILE_FAILED`: for the session's pushes (server → client).
    case passToPushes(Envelope, messageID: String?)
    /// Write a `SERVER_RESPONSE` that does not close the connection.
    case respond(ServerResponsePayload)
    /// Write the refusal of a frame that counted as a protocol error (not fatal; logged).
    case refuse(ServerResponsePayload)
    /// Write a fatal `SERVER_RESPONSE`, then close once it is written (or after `agents.close_timeout`).
    case fail(ServerResponsePayload)
    /// The client said goodbye: tell the tracker (an agent), write the fatal goodbye, then close.
    case unregister(RegisteredClient, reason: String?, goodbye: ServerResponsePayload)
    /// Close without an answer.
    case close
    /// Resume (`true`) or stop (`false`) reading from the socket.
    case setReading(Bool)
    /// Tell the mailbox the socket's writability changed, after resuming or stopping reading when
    /// `setReading` is not `nil`.
    case writabilityChanged(setReading: Bool?)
    /// The connection closed: stop the session's parts, count it out, tell the tracker.
    case tearDown(SessionTeardown)
}
