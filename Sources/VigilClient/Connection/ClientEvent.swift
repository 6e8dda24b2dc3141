import VigilProtocol

/// What a ``ClientConnection`` reports, in order, on ``ClientConnection/events``.
public enum ClientEvent: Sendable {
    /// The server accepted the registration (at the start, and after each reconnect).
    case registered(SessionParameters)
    /// The connection was lost or could not be made; `retryIn` is the delay before the next attempt
    /// (`nil` when the client is stopping).
    case disconnected(reason: String, retryIn: Duration?)
    /// A message for this client (acknowledged to the server, never reported twice).
    case message(IncomingMessage)
    /// The server stored one of our messages (`duplicate`: it had stored it before a reconnect).
    case acknowledged(OutgoingMessage, duplicate: Bool)
    /// The server refused one of our messages; it is not sent again.
    case messageRefused(OutgoingMessage, code: ErrorCode?, reason: String)
    /// The answer to ``ClientConnection/listClients()``: who is online.
    case clientList([ClientListPayload.Client])
    /// Another client offered us a file through the server; this client refused it (`reason`).
    case fileOffered(FileOfferPayload, refusedWith: String)
    /// A `SERVER_RESPONSE` that answers nothing we track (a warning, a refusal of a frame).
    case serverResponse(ServerResponsePayload)
    /// The client has stopped; the last event.
    case stopped(ClientExit)
}

/// Why a ``ClientConnection`` stopped.
public enum ClientExit: Sendable, Equatable {
    /// ``ClientConnection/leave(reason:drainTimeout:)`` was called; `unsent` messages were still
    /// waiting for the server's acknowledgement.
    case left(unsent: Int)
    /// The server refused the registration for a reason no retry cures (wrong or revoked key,
    /// name bound to another key, unsupported version).
    case refused(code: ErrorCode?, message: String)
    /// Another connection registered with the same name.
    case superseded(String)
    /// No registration succeeded within ``ClientSettings/giveUpAfter``.
    case gaveUp(String)
}

/// Errors from the calls of ``ClientConnection`` and ``FileSender``.
public enum ClientError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The connection was lost while the call waited; it is retried after the reconnect.
    case connectionLost(String)
    /// The client has stopped.
    case stopped(ClientExit)
    /// The server answered a request with an error (`in_reply_to` matched).
    case refused(code: ErrorCode?, message: String)

    public var description: String {
        switch self {
        case .connectionLost(let reason): "connection lost: \(reason)"
        case .stopped(let exit): "client stopped: \(exit)"
        case .refused(let code, let message): "\(code?.rawValue ?? "refused"): \(message)"
        }
    }
}
