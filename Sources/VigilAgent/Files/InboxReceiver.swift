#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import VigilProtocol
import VigilTransfer

/// Files the server passes on to this host (`vigil send-file --to HOST`), received one at a time
/// into the inbox directory: written to `<inbox>/.partial` as they arrive (off the event loop),
/// fsynced, verified (size and SHA-256) and renamed into `<inbox>` under a free name. A transfer
/// cut by a disconnect resumes from the durably written offset when the server offers it again.
///
/// Used by one session's event loop only, one call at a time.
final class InboxReceiver {
    let directory: String
    private let partials: PartialDirectory
    private let syncInterval: UInt64
    private let chunkSize: Int
    private let minFreeDisk: UInt64
    private let logger: Logger
    private var current: PartialFile?

    init(directory: String, syncInterval: UInt64, chunkSize: Int, minFreeDisk: UInt64, logger: Logger) {
        self.directory = directory
        self.partials = PartialDirectory(path: directory + "/.partial")
        self.syncInterval = syncInterval
        self.chunkSize = chunkSize
        self.minFreeDisk = minFreeDisk
        self.logger = logger
    }

    /// The answers to a `FILE_OFFER`: FILE_READY (and FILE_SAVED at once for an empty file), or FILE_REJECT.
    func offer(_ offer: FileOfferPayload) async -> [Envelope.Body] {
        if let current, current.manifest.transferID.uuidString.lowercased() != offer.transferID.lowercased() {
            return [.fileReject(FileErrorPayload(transferID: offer.transferID, code: .transferBusy, reason: "this agent receives one file at a time; \(current.manifest.filename) is still arriving"))]
        }
        await self.close()  // the same transfer offered again (after a reconnect): start from what is durable
        do {
            let manifest = try TransferManifest(offer: offer, sender: offer.sender ?? "server")
            let free = try DiskSpace.available(at: self.directory)
            guard free >= manifest.size, free - manifest.size >= self.minFreeDisk else {
                return [.fileReject(FileErrorPayload(transferID: offer.transferID, code: .insufficientDisk, reason: "the inbox has \(free) bytes free; \(manifest.size) would leave less than \(self.minFreeDisk)"))]
            }
            let partial = try await self.partials.open(manifest, syncInterval: self.syncInterval)
            self.current = partial
            self.logger.info("receiving a file", metadata: ["from": "\(manifest.sender.logEscaped)", "filename": "\(manifest.filename.logEscaped)", "size": "\(manifest.size)", "offset": "\(partial.startOffset)"])
            let ready = Envelope.Body.fileReady(FileReadyPayload(transferID: offer.transferID, offset: partial.startOffset, chunkSize: self.chunkSize))
            return partial.isComplete ? [ready, await self.finish()] : [ready]
        } catch {
            self.logger.notice("refused a file", metadata: ["filename": "\(offer.filename.logEscaped)", "code": "\(error.code.rawValue)", "reason": "\(error.reason.logEscaped)"])
            return [.fileReject(FileErrorPayload(transferID: offer.transferID, code: error.code, reason: error.reason))]
        }
    }

    /// One data frame; returns FILE_SAVED or FILE_FAILED when the transfer has ended.
    func data(_ frame: FileDataFrame) async -> Envelope.Body? {
        guard let partial = self.current, frame.transferID == partial.manifest.transferID else {
            self.logger.debug("file data for no open transfer; dropped", metadata: ["transfer_id": "\(frame.transferID)"])
            return nil
        }
        let transferID = frame.transferID.uuidString.lowercased()
        guard frame.offset == partial.offset else {
            await self.close()
            return .fileFailed(FileErrorPayload(transferID: transferID, code: .badOffset, reason: "expected bytes at offset \(partial.offset), got \(frame.offset); offer the file again to resume"))
        }
        do {
            try await partial.write([frame.data])
        } catch {
            self.current = nil
            await partial.discard()
            return .fileFailed(FileErrorPayload(transferID: transferID, code: error.code, reason: error.reason))
        }
        return partial.isComplete ? await self.finish() : nil
    }

    /// The session ended: the partial file stays for a resume.
    func close() async {
        guard let partial = self.current else { return }
        self.current = nil
        try? await partial.close()
    }

    private func finish() async -> Envelope.Body {
        guard let partial = self.current else { return .fileFailed(FileErrorPayload(transferID: "", code: .unknownTransfer, reason: "no transfer is open")) }
        self.current = nil
        let transferID = partial.manifest.transferID.uuidString.lowercased()
        do {
            let saved = try await partial.finish(into: self.directory)
            self.logger.info("received a file", metadata: ["from": "\(partial.manifest.sender.logEscaped)", "path": "\(saved.path.logEscaped)", "size": "\(saved.size)", "sha256": "\(saved.sha256)"])
            return .fileSaved(FileSavedPayload(transferID: transferID, fileID: transferID, filename: saved.filename, size: saved.size, sha256: saved.sha256))
        } catch {
            self.logger.warning("a received file failed its check", metadata: ["filename": "\(partial.manifest.filename.logEscaped)", "code": "\(error.code.rawValue)", "reason": "\(error.reason.logEscaped)"])
            return .fileFailed(FileErrorPayload(transferID: transferID, code: error.code, reason: error.reason))
        }
    }
}

@available(*, unavailable)
extension InboxReceiver: Sendable {}
