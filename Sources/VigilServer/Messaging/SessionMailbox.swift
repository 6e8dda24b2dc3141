import Logging
import NIOCore
import VigilProtocol

/// One registered connection's side of messaging: what it sends, and delivery to it.
final class SessionMailbox {
    private let service: MessageService
    private let link: SessionLink
    private let capabilities: [String]
    /// Closes this connection from any thread (used when a newer connection takes the same user name).
    private let handle: ConnectionHandle
    private var logger: Logger

    init(service: MessageService, link: SessionLink, handle: ConnectionHandle, capabilities: [String], logger: Logger) {
        self.service = service
        self.link = link
        self.handle = handle
        self.capabilities = capabilities
        self.logger = logger
    }

    /// Called once the register reply is written: joins presence and starts delivery.
    func start() {}

    /// A `CLIENT_MESSAGE`, `MESSAGE_ACK` or `LIST_CLIENTS` from this client.
    func receive(_ envelope: Envelope, messageID: String?) throws(ProtocolViolation) {
        throw ProtocolViolation(.unexpectedType, "\(envelope.type.rawValue) is not handled yet")
    }

    /// The connection closed.
    func stop() {}
}

@available(*, unavailable)
extension SessionMailbox: Sendable {}
