import Foundation
import Logging
import NIOCore
import VigilProtocol
import VigilStore
import VigilTransfer

/// Passing stored files on to this connection's client (server → client): the server is the
/// sender. Files from the client are ``SessionUploads``.
///
/// One file at a time: `FILE_OFFER` (with `sender`, the client that sent it to the server) → the
/// client's `FILE_READY {offset, chunk_size}` → data frames read from disk off the event loop, at
/// most `files.max_buffered_bytes` of them read or written but not yet taken by the socket (so a
/// slow reader holds the server's memory to that) → the client's `FILE_SAVED` or `FILE_FAILED`;
/// or `FILE_REJECT` instead of `FILE_READY`. Runs on the connection's event loop.
final class SessionPushes {
    let service: FileService
    let link: SessionLink
    var logger: Logger
    var stopped = false
    /// Files waiting to be passed on to this client, after the one in `outgoing`.
    var pushQueue: [StoredFile] = []
    /// The file being passed on to this client now.
    var outgoing: OutgoingTransfer?
    /// Pushes set aside because the client did not answer in time: its late answers are dropped quietly.
    var setAsidePushes = RecentTransferIDs()

    /// - Parameter takesPushes: Whether files for this client may be passed on over this connection;
    ///   `false` for a send-only connection (`vigil send-file`), which must not take the client's
    ///   files, and for a version-0 client. Its answers to offers are then refused as for any
    ///   transfer this server is not offering.
    init(service: FileService, link: SessionLink, takesPushes: Bool, logger: Logger) {
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

    /// A `FILE_READY`, `FILE_REJECT`, `FILE_SAVED` or `FILE_FAILED` from this client: its answer
    /// to a file offered to it.
    func receive(_ envelope: Envelope, messageID: String?) throws(ProtocolViolation) {
        switch envelope.body {
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

    /// The connection closed: what was not passed on is kept for the client's next registration.
    func stop() {
        guard !self.stopped else { return }
        self.stopped = true
        self.stopPushes()
    }

    static func newMessageID() -> String {
        UUID().uuidString.lowercased()
    }

    // MARK: Offering
    /// Takes part in passing files on (called once the register reply is out).
    func attachForPushes() {
        guard !self.stopped else { return }
        let loop = self.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let waiting = self.service.pushes.attach(self.link.clientID, PushTargets.Target(connectionID: self.link.connectionID) { file in
            loop.execute { bound.value.push(file) }
        })
        for file in waiting { self.push(file) }
    }

    /// Queues a file to offer to this client.
    func push(_ file: StoredFile) {
        guard !self.stopped else {
            self.service.pushes.requeue([file], for: self.link.clientID)
            return
        }
        if self.outgoing?.file.id == file.id || self.pushQueue.contains(where: { $0.id == file.id }) { return }
        self.pushQueue.append(file)
        if self.outgoing == nil { self.startNextPush() }
    }

    private func startNextPush() {
        guard self.outgoing == nil, !self.stopped, !self.pushQueue.isEmpty else { return }
        let file = self.pushQueue.removeFirst()
        let transfer = OutgoingTransfer(file: file, transferID: FileService.pushTransferID(fileID: file.id, recipient: self.link.clientID))
        self.outgoing = transfer
        guard let path = self.service.path(of: file) else {
            self.endPush(transfer, "file has no valid place on disk", level: .error)
            return
        }
        let pool = self.service.threadPool
        self.eventLoop.makeFutureWithTask {
            try await OutgoingFile.open(path: path, threadPool: pool)
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .failure(let error):
                self.endPush(transfer, "cannot open the stored file: \(error)", level: .error)
            case .success(let source):
                guard self.outgoing === transfer, !self.stopped else {
                    source.close()
                    return
                }
                transfer.source = source
                transfer.phase = .offered
                let offer = FileOfferPayload(transferID: transfer.transferIDText, filename: file.filename, size: source.size, sha256: file.sha256, sender: file.sender)
                self.link.send(.fileOffer(offer), messageID: Self.newMessageID())
                self.logger.info("offering a file to the client", metadata: self.pushMetadata(transfer))
                self.progressed(transfer)
            }
        }
    }

    /// The transfer this client's answer is about; `nil` for a late answer to a push set aside for
    /// lack of an answer (dropped quietly); otherwise a protocol violation.
    private func outgoingTransfer(_ transferID: String, _ type: MessageType) throws(ProtocolViolation) -> OutgoingTransfer? {
        guard let transfer = self.outgoing, UUID(uuidString: transferID) == transfer.transferID else {
            if let id = UUID(uuidString: transferID), self.setAsidePushes.contains(id) {
                self.logger.debug("late answer to a file set aside", metadata: ["transfer": "\(id.uuidString.lowercased())", "type": "\(type.rawValue)"])
                return nil
            }
            throw ProtocolViolation(.unknownTransfer, "\(type.rawValue) for transfer \(String(transferID.prefix(64)).debugDescription): this server is not offering that file to this client")
        }
        return transfer
    }

    // MARK: Waiting for the client

    /// The client did something for `transfer`: its `files.push_answer_timeout` starts again.
    private func progressed(_ transfer: OutgoingTransfer) {
        transfer.lastProgress = .now()
        guard transfer.answerTimer == nil else { return }  // the running timer sees the new time
        self.armAnswerTimer(transfer, in: self.settings.filePushAnswerTimeout.timeAmount)
    }

    private func armAnswerTimer(_ transfer: OutgoingTransfer, in delay: TimeAmount) {
        transfer.answerTimer = self.eventLoop.assumeIsolated().scheduleTask(in: max(delay, .milliseconds(1))) {
            transfer.answerTimer = nil
            guard self.outgoing === transfer, !self.stopped else { return }
            let timeout = self.settings.filePushAnswerTimeout.timeAmount
            let idle = NIODeadline.now() - transfer.lastProgress
            if idle < timeout {
                self.armAnswerTimer(transfer, in: timeout - idle)
            } else {
                self.setAside(transfer)
            }
        }
    }

    /// The client has not answered (or taken bytes) for `files.push_answer_timeout`: the file waits
    /// for its next connection (offered again then, under the same transfer id so it resumes) and
    /// the next file is offered now, so one silent transfer does not hold up the queue.
    private func setAside(_ transfer: OutgoingTransfer) {
        guard self.outgoing === transfer else { return }
        self.outgoing = nil
        transfer.answerTimer?.cancel()
        transfer.answerTimer = nil
        if !transfer.reading { transfer.source?.close() }
        self.setAsidePushes.insert(transfer.transferID)
        self.service.pushes.keepForNextConnection(transfer.file, for: self.link.clientID)
        let phase: String
        switch transfer.phase {
        case .opening, .offered: phase = "FILE_READY or FILE_REJECT"
        case .sending: phase = "the file's bytes to be read"
        case .awaitingResult: phase = "FILE_SAVED or FILE_FAILED"
        }
        self.logger.notice("passing a file on: no answer from the client; offered again on its next connection",
                           metadata: self.pushMetadata(transfer, ["waited_for": "\(phase)", "timeout": "\(self.settings.filePushAnswerTimeout.compactDescription)"]))
        self.startNextPush()
    }

    func pushReady(_ ready: FileReadyPayload) throws(ProtocolViolation) {
        guard let transfer = try self.outgoingTransfer(ready.transferID, .fileReady) else { return }
        guard case .offered = transfer.phase, let source = transfer.source else {
            throw ProtocolViolation(.unknownTransfer, "FILE_READY for transfer \(transfer.transferIDText) came twice")
        }
        guard ready.offset <= source.size, ready.chunkSize > 0 else {
            self.endPush(transfer, "the client answered FILE_READY with offset \(ready.offset) and chunk_size \(ready.chunkSize) for a file of \(source.size) bytes", level: .notice)
            throw ProtocolViolation(.invalidField, "FILE_READY offset must be at most the file's size (\(source.size)) and chunk_size at least 1")
        }
        transfer.phase = .sending
        self.progressed(transfer)
        transfer.nextOffset = ready.offset
        transfer.chunkSize = min(ready.chunkSize, self.settings.fileChunkSize)
        if ready.offset > 0 {
            self.logger.info("client resumes a file from its offset", metadata: self.pushMetadata(transfer, ["offset": "\(ready.offset)"]))
        }
        self.pumpOut(transfer)
    }

    func pushSaved(_ saved: FileSavedPayload) throws(ProtocolViolation) {
        guard let transfer = try self.outgoingTransfer(saved.transferID, .fileSaved) else { return }
        self.endPush(transfer, "client saved the file", level: .info, extra: ["as": "\(saved.filename.logEscaped)"])
    }

    func pushEnded(_ payload: FileErrorPayload, rejected: Bool) throws(ProtocolViolation) {
        guard let transfer = try self.outgoingTransfer(payload.transferID, rejected ? .fileReject : .fileFailed) else { return }
        self.endPush(transfer, rejected ? "client refused the file" : "client could not save the file", level: .notice,
                     extra: ["code": "\((payload.code?.rawValue ?? "-").logEscaped)", "reason": "\(payload.reason.logEscaped)"])
    }

    /// Reads and writes the next frame while the window and the socket allow.
    private func pumpOut(_ transfer: OutgoingTransfer) {
        guard self.outgoing === transfer, !self.stopped, case .sending = transfer.phase, let source = transfer.source else { return }
        let size = source.size
        if transfer.nextOffset == size {
            if transfer.inFlight == 0, case .sending = transfer.phase {
                transfer.phase = .awaitingResult
                self.progressed(transfer)
            }
            return
        }
        guard !transfer.reading, transfer.inFlight < self.settings.fileMaxBufferedBytes else { return }
        guard self.link.context.channel.isWritable || transfer.inFlight == 0 else { return }  // a write completion calls again
        let offset = transfer.nextOffset
        let count = Int(min(UInt64(transfer.chunkSize), size - offset))
        transfer.nextOffset += UInt64(count)
        transfer.inFlight += count
        transfer.reading = true
        source.readFrame(transferID: transfer.transferID, at: offset, count: count, eventLoop: self.eventLoop).assumeIsolated().whenComplete { result in
            transfer.reading = false
            guard self.outgoing === transfer, !self.stopped else {
                transfer.inFlight -= count
                if !transfer.reading { transfer.source?.close() }
                return
            }
            switch result {
            case .failure(let error):
                transfer.inFlight -= count
                self.endPush(transfer, "cannot read the stored file: \(error)", level: .error)
            case .success(let frame):
                self.link.context.writeAndFlush(NIOAny(frame)).assumeIsolated().whenComplete { _ in
                    transfer.inFlight -= count
                    if self.outgoing === transfer { self.progressed(transfer) }  // the client is reading
                    self.pumpOut(transfer)
                }
                self.pumpOut(transfer)
            }
        }
    }

    /// The push is over (saved, refused, failed, or impossible): log it and offer the next file.
    private func endPush(_ transfer: OutgoingTransfer, _ what: String, level: Logger.Level, extra: Logger.Metadata = [:]) {
        guard self.outgoing === transfer else { return }
        self.outgoing = nil
        transfer.answerTimer?.cancel()
        transfer.answerTimer = nil
        if !transfer.reading { transfer.source?.close() }
        self.logger.log(level: level, "passing a file on: \(what)", metadata: self.pushMetadata(transfer, extra))
        self.startNextPush()
    }

    private func stopPushes() {
        var unfinished: [StoredFile] = []
        if let transfer = self.outgoing {
            unfinished.append(transfer.file)
            transfer.answerTimer?.cancel()
            transfer.answerTimer = nil
            if !transfer.reading { transfer.source?.close() }
            self.outgoing = nil
        }
        unfinished += self.pushQueue
        self.pushQueue.removeAll()
        self.service.pushes.detach(self.link.clientID, connectionID: self.link.connectionID)
        self.service.pushes.requeue(unfinished, for: self.link.clientID)
    }

    private func pushMetadata(_ transfer: OutgoingTransfer, _ extra: Logger.Metadata = [:]) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "transfer": "\(transfer.transferIDText)",
            "file_id": "\(transfer.file.id)",
            "file": "\(transfer.file.filename.logEscaped)",
            "from": "\(transfer.file.sender.logEscaped)",
        ]
        metadata.merge(extra) { $1 }
        return metadata
    }
}

@available(*, unavailable)
extension SessionPushes: Sendable {}
