import Logging
import NIOCore
import VigilProtocol

/// One registered connection's file transfers.
final class SessionTransfers {
    private let service: FileService
    private let link: SessionLink
    private var logger: Logger

    init(service: FileService, link: SessionLink, logger: Logger) {
        self.service = service
        self.link = link
        self.logger = logger
    }

    /// A `FILE_OFFER`, `FILE_READY`, `FILE_REJECT`, `FILE_SAVED`, `FILE_FAILED` or `END` from this client.
    func receive(_ envelope: Envelope, messageID: String?) throws(ProtocolViolation) {
        throw ProtocolViolation(.unexpectedType, "\(envelope.type.rawValue) is not handled yet")
    }

    /// A binary file data frame from this client.
    func receive(_ frame: FileDataFrame) throws(ProtocolViolation) {
        throw ProtocolViolation(.unknownTransfer, "no transfer is open")
    }

    /// The connection closed: open transfers keep their partial files for a resume.
    func stop() {}
}

@available(*, unavailable)
extension SessionTransfers: Sendable {}
