import Foundation
import Logging
import NIOCore
import VigilProtocol
import VigilStore
import VigilTransfer

/// One registered connection's incoming files: the protocol of `FILE_OFFER` → `FILE_READY` /
/// `FILE_REJECT` → data frames → `FILE_SAVED` / `FILE_FAILED`, and `END`.
///
/// Runs on the connection's event loop; everything that touches the disk or the catalog runs off it
/// (``FileService``, ``PartialFile``) and comes back to the loop. Bytes of one transfer are written
/// one batch at a time, in order; bytes that arrive meanwhile wait in memory, and when more than
/// `files.max_buffered_bytes` wait (over all transfers of the connection) the socket stops being
/// read until the disk has taken half of them.
///
/// Refusals that are not the client's protocol fault (a file too large, over quota, a bad checksum,
/// …) are answered with `FILE_REJECT` or `FILE_FAILED` here. Data that breaks the protocol (an
/// unknown transfer, a wrong offset) is thrown as a ``ProtocolViolation``, which the session counts.
final class SessionTransfers {
    let service: FileService
    let link: SessionLink
    var logger: Logger
    private var transfers: [UUID: IncomingTransfer] = [:]
    /// Transfers that ended here lately: late frames for them are dropped without a fuss.
    private var ended = RecentTransferIDs()
    /// Bytes accepted on this connection and not yet written.
    private var bufferedBytes = 0
    private var diskPaused = false
    /// Since the session started or since the last `END`.
    private var savedCount = 0
    private var failedCount = 0
    /// `END`s waiting for the transfers whose bytes have all arrived to be settled (their message ids).
    private var pendingEnds: [String?] = []
    var stopped = false
    /// Files waiting to be passed on to this client, after the one in `outgoing`.
    var pushQueue: [StoredFile] = []
    /// The file being passed on to this client now.
    var outgoing: OutgoingTransfer?
    /// Pushes set aside because the client did not answer in time: its late answers are dropped quietly.
    var setAsidePushes = RecentTransferIDs()

    /// - Parameter takesPushes: Whether files for this client may be passed on over this connection;
    ///   `false` for a send-only connection (`vigil send-file`), which must not take the client's files.
    init(service: FileService, link: SessionLink, takesPushes: Bool = true, logger: Logger) {
        self.service = service
        self.link = link
        self.logger = logger
        guard takesPushes else { return }
        // After the register reply (which the session writes once this returns): files waiting
        // for this client are offered to it, and new ones can be.
        let loop = link.context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.execute { bound.value.attachForPushes() }
    }

    var eventLoop: any EventLoop { self.link.context.eventLoop }
    var settings: ServerSettings { self.service.settings }

    // MARK: Frames from the client

    /// A `FILE_OFFER`, `FILE_READY`, `FILE_REJECT`, `FILE_SAVED`, `FILE_FAILED` or `END` from this client.
    func receive(_ envelope: Envelope, messageID: String?) throws(ProtocolViolation) {
        switch envelope.body {
        case .fileOffer(let offer):
            self.offer(offer)
        case .end:
            self.pendingEnds.append(messageID)
            self.answerEnds()
        case .fileReady(let payload):
            try self.pushReady(payload)
        case .fileReject(let payload):
            try self.pushEnded(payload, rejected: true)
        case .fileFailed(let payload):
            try self.pushEnded(payload, rejected: false)
        case .fileSaved(let payload):
            try self.pushSaved(payload)
        default:
            throw ProtocolViolation(.unexpectedType, "\(envelope.type.rawValue) is not a file transfer message")
        }
    }

    /// A binary file data frame from this client.
    func receive(_ frame: FileDataFrame) throws(ProtocolViolation) {
        let id = frame.transferID
        let name = id.uuidString.lowercased()
        guard let transfer = self.transfers[id] else {
            if self.ended.contains(id) {
                // Sent before the sender could know the transfer had ended (FILE_FAILED crossed it).
                self.logger.debug("data for a transfer that has ended", metadata: ["transfer": "\(name)"])
                return
            }
            throw ProtocolViolation(.unknownTransfer, "no transfer \(name) is open on this connection; send FILE_OFFER and wait for FILE_READY")
        }
        let count = frame.data.readableBytes
        let size = transfer.manifest.size
        switch transfer.phase {
        case .opening:
            throw ProtocolViolation(.unknownTransfer, "transfer \(name) is not ready; wait for FILE_READY before sending its bytes")
        case .finishing:
            throw ProtocolViolation(.badOffset, "transfer \(name) already has all its \(size) bytes; this frame at offset \(frame.offset) is past the end")
        case .receiving:
            break
        }
        guard frame.offset == transfer.expectedOffset else {
            if transfer.expectedOffset == size {
                throw ProtocolViolation(.badOffset, "transfer \(name) already has all its \(size) bytes; this frame at offset \(frame.offset) is past the end")
            }
            throw ProtocolViolation(.badOffset, "transfer \(name) expects offset \(transfer.expectedOffset) next, this frame starts at \(frame.offset)")
        }
        guard count <= self.settings.fileChunkSize else {
            throw ProtocolViolation(.invalidField, "data frame for transfer \(name) carries \(count) bytes; FILE_READY allows at most chunk_size \(self.settings.fileChunkSize)")
        }
        guard count > 0 else { return }
        if transfer.expectedOffset == size {
            throw ProtocolViolation(.badOffset, "transfer \(name) already has all its \(size) bytes; this frame at offset \(frame.offset) is past the end")
        }
        guard transfer.expectedOffset + UInt64(count) <= size else {
            self.fail(transfer, .sizeMismatch, "\(transfer.expectedOffset + UInt64(count)) bytes sent for a file offered as \(size) bytes")
            return
        }
        transfer.pending.append(frame.data)
        transfer.pendingBytes += count
        transfer.expectedOffset += UInt64(count)
        self.bufferedBytes += count
        self.updatePause()
        self.pump(transfer)
    }

    /// The connection closed: open transfers keep their partial files for a resume (fsynced and
    /// recorded in their sidecars before their claims are released); files being verified are
    /// still recorded when they pass.
    ///
    /// Bytes received before the close and still waiting for the disk are written first: a client
    /// that closes (or half-closes) right after its last data frame resumes from every byte it sent.
    func stop() {
        guard !self.stopped else { return }
        self.stopped = true
        let owner = self.link.connectionID
        for transfer in self.transfers.values {
            self.service.claims.markClosing(transfer.id, owner: owner)
            switch transfer.phase {
            case .opening, .finishing:
                transfer.pending = []
                transfer.pendingBytes = 0
                // their completions see `stopped`
            case .receiving(let file):
                transfer.ending = .stopped
                guard !transfer.writing else { break }  // the running write goes on with what waits
                if transfer.pendingBytes > 0 {
                    self.pump(transfer)
                } else {
                    self.wrapUp(transfer, file)
                }
            }
        }
        self.transfers.removeAll()
        self.pendingEnds.removeAll()
        self.stopPushes()
    }

    // MARK: Offers

    private func offer(_ offer: FileOfferPayload) {
        let manifest: TransferManifest
        do {
            manifest = try TransferManifest(offer: offer, sender: self.link.clientID)
        } catch {
            self.reject(offer.transferID, error.code, error.reason)
            return
        }
        let id = manifest.transferID
        if manifest.size > self.settings.fileMaxSize {
            self.reject(offer.transferID, .fileTooLarge, "the file is \(manifest.size) bytes; this server takes files of at most \(self.settings.fileMaxSize) bytes (files.max_file_size)")
            return
        }
        if self.transfers[id] != nil {
            self.reject(offer.transferID, .transferBusy, "transfer \(id.uuidString.lowercased()) is already open on this connection")
            return
        }
        if self.transfers.count >= self.settings.fileMaxConcurrentTransfers {
            self.reject(offer.transferID, .serverBusy, "\(self.transfers.count) transfers are already open on this connection (files.max_concurrent_transfers); offer this one when one has finished")
            return
        }
        if self.service.senderDirectory(for: self.link.clientID) == nil {
            self.reject(offer.transferID, .invalidOffer, "client id \(self.link.clientID.debugDescription) cannot name a directory on this server, so it cannot store files")
            return
        }
        let transfer = IncomingTransfer(manifest: manifest, offeredID: offer.transferID)
        self.transfers[id] = transfer
        self.ended.remove(id)
        self.claim(transfer, retried: false)
    }

    /// Takes the transfer id for this connection, waiting (once, for up to `agents.close_timeout`)
    /// for a closing connection that still holds it to let go.
    private func claim(_ transfer: IncomingTransfer, retried: Bool) {
        let outcome = self.service.claims.claim(transfer.id, owner: self.link.connectionID, sender: transfer.manifest.sender, size: transfer.manifest.size, eventLoop: self.eventLoop)
        switch outcome {
        case .claimed:
            self.prepare(transfer)
        case .inUse:
            self.transfers[transfer.id] = nil
            self.reject(transfer.offeredID, .invalidOffer, FileService.inUseReason(transfer.id))
        case .busy:
            self.transfers[transfer.id] = nil
            self.reject(transfer.offeredID, .transferBusy, "transfer \(transfer.id.uuidString.lowercased()) is being received on another connection; offer it again once that one has closed")
        case .releasing(let released):
            var waited = false
            let timeout = self.eventLoop.assumeIsolated().scheduleTask(in: self.settings.closeTimeout.timeAmount) {
                guard !waited else { return }
                waited = true
                self.afterWaiting(transfer, retried: true)
            }
            released.assumeIsolated().whenComplete { _ in
                guard !waited else { return }
                waited = true
                timeout.cancel()
                self.afterWaiting(transfer, retried: retried)
            }
        }
    }

    private func afterWaiting(_ transfer: IncomingTransfer, retried: Bool) {
        guard !self.stopped, self.transfers[transfer.id] === transfer else { return }
        if retried {
            self.transfers[transfer.id] = nil
            self.reject(transfer.offeredID, .transferBusy, "transfer \(transfer.id.uuidString.lowercased()) is still being closed on another connection; offer it again shortly")
        } else {
            self.claim(transfer, retried: true)
        }
    }

    private func prepare(_ transfer: IncomingTransfer) {
        let service = self.service
        let manifest = transfer.manifest
        self.eventLoop.makeFutureWithTask {
            await service.prepare(manifest)
        }.assumeIsolated().whenComplete { result in
            let preparation: FileService.Preparation
            switch result {
            case .success(let value): preparation = value
            case .failure(let error): preparation = .rejected(.ioError, "the server could not prepare the transfer: \(error)", fileID: nil)
            }
            self.prepared(transfer, preparation)
        }
    }

    private func prepared(_ transfer: IncomingTransfer, _ preparation: FileService.Preparation) {
        let owner = self.link.connectionID
        switch preparation {
        case .rejected(let code, let reason, let fileID):
            self.service.claims.release(transfer.id, owner: owner)
            guard !self.stopped else { return }
            self.transfers[transfer.id] = nil
            self.reject(transfer.offeredID, code, reason, fileID: fileID)
        case .ready(let file):
            if self.stopped {
                transfer.ending = .stopped
                self.wrapUp(transfer, file)
                return
            }
            transfer.phase = .receiving(file)
            transfer.expectedOffset = file.startOffset
            self.logger.info(file.startOffset > 0 ? "file transfer resumed" : "file transfer started", metadata: self.metadata(transfer, ["offset": "\(file.startOffset)"]))
            self.link.send(.fileReady(FileReadyPayload(transferID: transfer.offeredID, offset: file.startOffset, chunkSize: self.settings.fileChunkSize)), messageID: Self.newMessageID())
            if file.startOffset == transfer.manifest.size {
                self.finish(transfer, file)  // empty, or every byte was already durable
            }
        }
    }

    private func reject(_ transferID: String, _ code: ErrorCode, _ reason: String, fileID: String? = nil) {
        self.logger.info("file offer refused", metadata: ["transfer": "\(String(transferID.prefix(64)).logEscaped)", "code": "\(code.rawValue)", "reason": "\(reason.logEscaped)"])
        self.link.send(.fileReject(FileErrorPayload(transferID: transferID, code: code, reason: reason, fileID: fileID)), messageID: Self.newMessageID())
        self.answerEnds()
    }

    // MARK: Writing

    /// Hands everything waiting to the disk, unless a write is already running.
    private func pump(_ transfer: IncomingTransfer) {
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
    private func updatePause() {
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
    private func wrapUp(_ transfer: IncomingTransfer, _ file: PartialFile) {
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
    private func finish(_ transfer: IncomingTransfer, _ file: PartialFile) {
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
    private func fail(_ transfer: IncomingTransfer, _ code: ErrorCode, _ reason: String) {
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
    private func answerEnds() {
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

    // MARK: Helpers

    func metadata(_ transfer: IncomingTransfer, _ extra: Logger.Metadata = [:]) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "transfer": "\(transfer.id.uuidString.lowercased())",
            "file": "\(transfer.manifest.filename.logEscaped)",
            "size": "\(transfer.manifest.size)",
        ]
        metadata.merge(extra) { $1 }
        return metadata
    }

    private static func count(_ n: Int, _ noun: String) -> String {
        "\(n) \(noun)\(n == 1 ? "" : "s")"
    }

    static func newMessageID() -> String {
        UUID().uuidString.lowercased()
    }
}

@available(*, unavailable)
extension SessionTransfers: Sendable {}
