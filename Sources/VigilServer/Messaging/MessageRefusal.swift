import VigilProtocol

/// Why a message was not accepted. None of these is the sender's protocol fault: on a connection
/// they are answered with a non-fatal `SERVER_RESPONSE` and not counted as protocol errors.
struct MessageRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        /// No message id, empty or too long content, an empty recipient, a reserved sender.
        case invalid
        /// Content over `messages.max_content_bytes` (HTTP answers 413 rather than 400).
        case tooLarge
        /// The recipient never registered.
        case unknownRecipient
        /// Over `messages.rate_limit`.
        case rateLimited
        /// The write queue is full (`messages.max_pending`), or the server is shutting down.
        case busy
        /// The store failed. On a connection this is `server_busy` (send it again later); HTTP answers 500.
        case failed
    }

    var kind: Kind
    var detail: String

    init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// The code in `SERVER_RESPONSE.payload.code` (and in the API's `error`).
    var code: ErrorCode {
        switch self.kind {
        case .invalid, .tooLarge: .invalidMessage
        case .unknownRecipient: .unknownRecipient
        case .rateLimited: .rateLimited
        case .busy, .failed: .serverBusy
        }
    }

    var description: String { "\(self.code.rawValue): \(self.detail)" }
}
