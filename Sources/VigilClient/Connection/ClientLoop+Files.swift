import Logging
import VigilProtocol

/// Offers and their answers, for ``FileSender``.
extension ClientLoop {
    func offer(_ offer: FileOfferPayload, _ continuation: CheckedContinuation<OfferAnswer, any Error>) {
        guard self.phase == .registered else {
            continuation.resume(throwing: ClientError.connectionLost("not connected"))
            return
        }
        let messageID = Self.newID()
        self.offers.removeValue(forKey: offer.transferID)?.continuation.resume(throwing: ClientError.connectionLost("offered again"))
        self.offers[offer.transferID] = PendingOffer(messageID: messageID, continuation: continuation)
        self.write(.fileOffer(offer), messageID: messageID)
    }

    func fileReady(_ ready: FileReadyPayload) {
        guard let offer = self.offers.removeValue(forKey: ready.transferID), let registered = self.registeredLink else {
            self.logger.debug("FILE_READY for a transfer not offered on this connection", metadata: ["transfer_id": "\(ready.transferID)"])
            return
        }
        if self.results[ready.transferID] == nil { self.results[ready.transferID] = .expected }
        offer.continuation.resume(returning: .ready(ready, registered))
    }

    /// `FILE_REJECT` (`result` nil), `FILE_SAVED` or `FILE_FAILED`.
    func fileAnswered(_ transferID: String, rejected: FileErrorPayload?, result: FileResult?) {
        if let offer = self.offers.removeValue(forKey: transferID) {
            // An answer before FILE_READY is a refusal of the offer, whatever its type.
            if let rejected {
                offer.continuation.resume(returning: .rejected(rejected))
                return
            }
            self.offers[transferID] = offer
        }
        guard let result else { return }
        if case .waiting(let continuation) = self.results[transferID] {
            self.results[transferID] = nil
            continuation.resume(returning: result)
        } else {
            self.results[transferID] = .arrived(result)
        }
    }

    func claimResult(_ transferID: String, _ continuation: CheckedContinuation<FileResult, any Error>) {
        switch self.results[transferID] {
        case .arrived(let result):
            self.results[transferID] = nil
            continuation.resume(returning: result)
        case .waiting(let earlier):
            self.results[transferID] = .waiting(continuation)
            earlier.resume(throwing: CancellationError())
        case .expected, nil:
            guard self.phase == .registered else {
                continuation.resume(throwing: ClientError.connectionLost("not connected"))
                return
            }
            self.results[transferID] = .waiting(continuation)
        }
    }
}
