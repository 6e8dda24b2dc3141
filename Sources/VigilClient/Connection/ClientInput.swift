import NIOCore
import VigilProtocol

/// Everything the client's loop reacts to, on one stream: calls from the owner, and what the
/// connection and the timers report. One loop handles them in order, so the client's state (the
/// outbox, the waiting calls, the session) needs no lock.
enum ClientInput: Sendable {
    case command(ClientCommand)
    /// The TCP connection of `generation` is up.
    case connected(UInt64, ConnectionLink)
    case frame(UInt64, ByteBuffer)
    /// The connection of `generation` closed, or could not be made (the error, as text).
    case closed(UInt64, String?)
    /// The connection of `generation` was refused for good by TLS: the server's chain does not end at
    /// the pinned CA (the error, as text). The client stops instead of reconnecting.
    case refusedByTLS(UInt64, String)
    case tick(UInt64)
    case registerDeadline(UInt64)
    case unregisterDeadline(UInt64)
    /// The backoff delay has passed: connect again.
    case reconnect
    /// A message refused for a passing reason may be sent again.
    case retryOutbox
    /// ``ClientConnection/leave(reason:drainTimeout:)`` waited long enough for the outbox to empty.
    case drainDeadline
}

/// Calls from the owner of a ``ClientConnection``.
enum ClientCommand: Sendable {
    case send(OutgoingMessage)
    case listClients
    case leave(reason: String, drainTimeout: Duration)
    /// Resumed with the link once registered (at once if registered now).
    case waitRegistered(CheckedContinuation<RegisteredLink, any Error>)
    case offer(FileOfferPayload, CheckedContinuation<OfferAnswer, any Error>)
    case fileResult(transferID: String, CheckedContinuation<FileResult, any Error>)
    case cancelFileResult(transferID: String)
    case end(CheckedContinuation<ServerResponsePayload, any Error>)
}

/// The receiver's answer to a `FILE_OFFER`.
enum OfferAnswer: Sendable {
    case ready(FileReadyPayload, RegisteredLink)
    case rejected(FileErrorPayload)
}

/// How a transfer ended on the receiver's side.
public enum FileResult: Sendable, Equatable {
    case saved(FileSavedPayload)
    case failed(FileErrorPayload)
}
