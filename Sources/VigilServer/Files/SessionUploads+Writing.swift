import Foundation
import Logging
import NIOCore
import VigilProtocol
import VigilStore
import VigilTransfer

/// Bytes to the disk, and how each upload ends.
extension SessionUploads {
    // MARK: Writing

    /// Hands everything waiting to the disk, unless a write is already running.
    func pump(_ transfer: IncomingTransfer) {
        guard !transfer.writing, transfer.pendingBytes > 0, case .receiving(let file) = transfer.phase else { return }
        let chunks = transfer.pending
        let bytes = transfer.pendingBytes
        transfer.pending = []
        transfer.pendingBytes = 0
        transfer.writing = true
        file.write(chunks, eventLoop: self.eventLoop).assumeIsolated().whenComplete { result in
            transfer.writing = false
            self.bufferedBytes -= bytes
            self.updatePause()
            if let ending = transfer.ending {
                // Stopped by a close: what arrived before it is written too, then the partial is kept.
                if ending == .stopped, case .success = result, transfer.pendingBytes > 0 {
                    self.pump(transfer)
                } else {
                    self.wrapUp(transfer, file)
                }
                return
            }
            switch result {
            case .failure(let error):
                let failure = error as? TransferError ?? TransferError(.ioError, "\(error)")
                self.logger.error("cannot write received file", metadata: self.metadata(transfer, ["error": "\(failure.reason.logEscaped)"]))
                self.fail(transfer, failure.code, "the server could not write the file: \(failure.reason)")
            case .success:
                if transfer.pendingBytes > 0 {
                    self.pump(transfer)
                } else if transfer.expectedOffset == transfer.manifest.size {
                    self.finish(transfer, file)
                }
            }
        }
    }

    /// Stops or resumes reading the socket as the bytes waiting for the disk pass the limit or fall
    /// to half of it.
    func updatePause() {
        let limit = self.settings.fileMaxBufferedBytes
        if !self.diskPaused, self.bufferedBytes > limit {
            self.diskPaused = true
            self.logger.debug("disk behind: pausing reads", metadata: ["buffered": "\(self.bufferedBytes)"])
            if !self.stopped { self.link.pauseReading(.diskBehind, true) }
        } else if self.diskPaused, self.bufferedBytes <= limit / 2 {
            self.diskPaused = false
            if !self.stopped { self.link.pauseReading(.diskBehind, false) }
        }
    }

    /// The transfer is over with its partial still open and no write running: delete it (failed) or
    /// keep it for a resume (stopped); then let the transfer id go.
    func wrapUp(_ transfer: IncomingTransfer, _ file: PartialFile) {
        let claims = self.service.claims
        let owner = self.link.connectionID
        let id = transfer.id
        switch transfer.ending {
        case .failed:
            file.discard(eventLoop: self.eventLoop).whenComplete { _ in claims.release(id, owner: owner) }
        case .stopped, nil:
            let logger = self.logger
            file.close(eventLoop: self.eventLoop).whenComplete { result in
                if case .failure(let error) = result {
                    logger.error("cannot close partial file; a resume starts from its last sync", metadata: ["transfer": "\(id)", "error": "\(String(describing: error).logEscaped)"])
                } else {
                    logger.info("file transfer interrupted; partial kept for a resume", metadata: ["transfer": "\(id)", "durable_offset": "\(file.durableOffset)", "size": "\(file.manifest.size)"])
                }
                claims.release(id, owner: owner)
            }
        }
    }

    // MARK: Outcomes

    /// Every byte is on disk: verify, move into place, record, answer.
    func finish(_ transfer: IncomingTransfer, _ file: PartialFile) {
        guard let directory = self.service.senderDirectory(for: transfer.manifest.sender) else {
            self.fail(transfer, .ioError, "the server has no directory for \(transfer.manifest.sender.debugDescription)")
            return
        }
        transfer.phase = .finishing
        let service = self.service
        let manifest = transfer.manifest
        let loop = self.eventLoop
        file.finish(into: directory, eventLoop: loop).flatMap { saved in
            loop.makeFutureWithTask { try await service.record(saved, manifest) }
        }.assumeIsolated().whenComplete { result in
            self.service.claims.release(transfer.id, owner: self.link.connectionID)
            self.transfers[transfer.id] = nil
            self.ended.insert(transfer.id)
            switch result {
            case .success(let stored):
                self.savedCount += 1
                self.logger.info("file saved", metadata: self.metadata(transfer, ["file_id": "\(stored.id)", "path": "\(stored.storedPath.logEscaped)"]))
                if !self.stopped {
                    self.link.send(.fileSaved(FileSavedPayload(transferID: transfer.offeredID, fileID: stored.id, filename: stored.filename, size: stored.size, sha256: stored.sha256)), messageID: Self.newMessageID())
                }
                if let recipient = stored.recipient {
                    self.service.pushes.push(stored, to: recipient)
                }
            case .failure(let error as TransferError):
                // finish() has deleted the partial already.
                self.failedCount += 1
                self.logger.notice("file transfer failed", metadata: self.metadata(transfer, ["code": "\(error.code.rawValue)", "reason": "\(error.reason.logEscaped)"]))
                if !self.stopped {
                    self.link.send(.fileFailed(FileErrorPayload(transferID: transfer.offeredID, code: error.code, reason: error.reason)), messageID: Self.newMessageID())
                }
            case .failure(let error):
                self.failedCount += 1
                self.logger.error("cannot record saved file", metadata: self.metadata(transfer, ["error": "\(String(describing: error).logEscaped)"]))
                if !self.stopped {
                    self.link.send(.fileFailed(FileErrorPayload(transferID: transfer.offeredID, code: .ioError, reason: "the file arrived intact but the server could not record it; send it again")), messageID: Self.newMessageID())
                }
            }
            self.answerEnds()
        }
    }

    /// Ends a transfer with `FILE_FAILED`; its partial is deleted (after a running write, if any).
    func fail(_ transfer: IncomingTransfer, _ code: ErrorCode, _ reason: String) {
        self.transfers[transfer.id] = nil
        self.ended.insert(transfer.id)
        self.bufferedBytes -= transfer.pendingBytes
        transfer.pending = []
        transfer.pendingBytes = 0
        self.updatePause()
        transfer.ending = .failed
        self.failedCount += 1
        self.logger.notice("file transfer failed", metadata: self.metadata(transfer, ["code": "\(code.rawValue)", "reason": "\(reason.logEscaped)"]))
        self.link.send(.fileFailed(FileErrorPayload(transferID: transfer.offeredID, code: code, reason: reason)), messageID: Self.newMessageID())
        if case .receiving(let file) = transfer.phase, !transfer.writing {
            self.wrapUp(transfer, file)
        }
        self.answerEnds()
    }

    /// Answers waiting `END`s once no transfer is being opened or verified and none has all its
    /// bytes still on their way to the disk: "N files saved, M failed".
    func answerEnds() {
        guard !self.pendingEnds.isEmpty, !self.stopped else { return }
        var open = 0
        for transfer in self.transfers.values {
            switch transfer.phase {
            case .opening, .finishing:
                return
            case .receiving:
                if transfer.isFullyReceived { return }
                open += 1
            }
        }
        var message = "\(Self.count(self.savedCount, "file")) saved, \(self.failedCount) failed"
        if open > 0 { message += "; \(Self.count(open, "transfer")) still open" }
        for messageID in self.pendingEnds {
            self.link.respond(ServerResponsePayload(success: true, message: message, inReplyTo: messageID))
        }
        self.logger.info("file session ended", metadata: ["saved": "\(self.savedCount)", "failed": "\(self.failedCount)", "open": "\(open)"])
        self.pendingEnds.removeAll()
        self.savedCount = 0
        self.failedCount = 0
    }
}
