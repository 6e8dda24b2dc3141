import Logging
import NIOCore
import VigilConnection
import VigilProtocol

/// What the server sends.
extension ClientLoop {
    func handleFrame(_ buffer: ByteBuffer) {
        let envelope: Envelope
        do {
            // Binary frames from the server (file data pushed to us) are not taken by this client.
            guard case .envelope(let parsed) = try InboundFrame.parse(buffer) else { return }
            envelope = parsed
        } catch {
            // A newer server's message type, or a frame we cannot read: ignore it, as PROTOCOL.md asks.
            self.logger.debug("ignoring an unreadable frame from the server", metadata: ["error": "\(error)"])
            return
        }
        switch (self.phase, envelope.body) {
        case (.registering, .serverResponse(let response)):
            self.registerAnswered(response)
        case (.unregistering, .serverResponse(let response)) where response.fatal || response.inReplyTo == nil || response.success:
            // The goodbye (or a fatal error instead of it): either way the session is over.
            self.stop(.left(unsent: self.outbox.count))
        case (_, .serverResponse(let response)):
            self.handleResponse(response)
        case (_, .heartbeatAck(let ack)) where ack.seq <= self.heartbeatSeq:
            self.heartbeatsAcked = max(self.heartbeatsAcked, ack.seq)
        case (.registered, .messageAck(let ack)), (.unregistering, .messageAck(let ack)):
            self.acknowledged(ack)
        case (.registered, .clientMessage(let message)), (.unregistering, .clientMessage(let message)):
            self.received(message, envelope: envelope)
        case (_, .clientList(let list)):
            self.emit(.clientList(list.clients))
        case (_, .fileReady(let ready)):
            self.fileReady(ready)
        case (_, .fileReject(let reject)):
            self.fileAnswered(reject.transferID, rejected: reject, result: nil)
        case (_, .fileSaved(let saved)):
            self.fileAnswered(saved.transferID, rejected: nil, result: .saved(saved))
        case (_, .fileFailed(let failed)):
            self.fileAnswered(failed.transferID, rejected: failed, result: .failed(failed))
        case (.registered, .fileOffer(let offer)):
            let reason = "\(self.settings.clientVersion) does not accept files"
            self.write(.fileReject(FileErrorPayload(transferID: offer.transferID, code: .filesNotAccepted, reason: reason)))
            self.emit(.fileOffered(offer, refusedWith: reason))
        default:
            self.logger.debug("ignoring frame", metadata: ["type": "\(envelope.type.rawValue)"])
        }
    }

    /// A `SERVER_RESPONSE` while registered: an error about something we sent, or a fatal one.
    private func handleResponse(_ response: ServerResponsePayload) {
        if response.fatal {
            if response.code == .superseded {
                self.pendingExit = .superseded(response.message)
            } else if response.code?.isPermanentRefusal ?? false {
                self.pendingExit = .refused(code: response.code, message: response.message)
            }
            // The server closes the connection now; so do we, in case it does not.
            self.close(because: "\(response.code?.rawValue ?? "server"): \(response.message)")
            return
        }
        guard let inReplyTo = response.inReplyTo else {
            self.emit(.serverResponse(response))
            return
        }
        if self.outbox.contains(inReplyTo) {
            self.messageRefused(inReplyTo, response)
        } else if let (transferID, offer) = self.offers.first(where: { $0.value.messageID == inReplyTo }) {
            self.offers[transferID] = nil
            offer.continuation.resume(throwing: ClientError.refused(code: response.code, message: response.message))
        } else if let continuation = self.ends.removeValue(forKey: inReplyTo) {
            continuation.resume(returning: response)
        } else {
            self.listRequests.remove(inReplyTo)
            self.emit(.serverResponse(response))
        }
    }
}
