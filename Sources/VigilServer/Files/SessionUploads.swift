import Foundation
import Logging
import NIOCore
import VigilProtocol
import VigilStore
import VigilTransfer

/// One registered connection's incoming files (client → server): the protocol of `FILE_OFFER` →
/// `FILE_READY` / `FILE_REJECT` → data frames → `FILE_SAVED` / `FILE_FAILED`, and `END`. Files the
/// server passes on to the client are ``SessionPushes``.
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
final class SessionUploads {
    let service: FileService
    let link: SessionLink
    var logger: Logger
    var transfers: [UUID: IncomingTransfer] = [:]
    /// Transfers that ended here lately: late frames for them are dropped without a fuss.
    var ended = RecentTransferIDs()
    /// Bytes accepted on this connection and not yet written.
    var bufferedBytes = 0
    var diskPaused = false
    /// Since the session started or since the last `END`.
    var savedCount = 0
    var failedCount = 0
    /// `END`s waiting for the transfers whose bytes have all arrived to be settled (their message ids).
    var pendingEnds: [String?] = []
    var stopped = false

    init(service: FileService, link: SessionLink, logger: Logger) {
        self.service = service
        self.link = link
        self.logger = logger
    }

    var eventLoop: any EventLoop { self.link.context.eventLoop }
    var settings: ServerSettings { self.service.settings }

    // MARK: Frames from the client

    /// A `FILE_OFFER` or `END` from this client.
    func receive(_ envelope: Envelope, messageID: String?) throws(ProtocolViolation) {
        switch envelope.body {
        case .fileOffer(let offer):
            self.offer(offer)
        case .end:
            self.pendingEnds.append(messageID)
            self.answerEnds()
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

    static func count(_ n: Int, _ noun: String) -> String {
        "\(n) \(noun)\(n == 1 ? "" : "s")"
    }

    static func newMessageID() -> String {
        UUID().uuidString.lowercased()
    }
}

@available(*, unavailable)
extension SessionUploads: Sendable {}
