import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import VigilProtocol
import VigilStore
import VigilTransfer

/// Receives, verifies and keeps files.
///
/// Files land in `<files.directory>/<sender>/<name>` (never outside `files.directory`); bytes still
/// arriving live in `<files.directory>/.partial/<transfer id>.part` with a sidecar, so a transfer cut
/// off by a dropped connection or a server restart resumes from its durable offset. Each
/// connection's ``SessionUploads`` and ``SessionPushes`` run the protocol on its event loop; this service does the
/// checks that need the catalog or the disk (off the loops), records saved files, removes partials
/// older than `files.partial_retention`, and at shutdown waits until every open partial is closed.
public final class FileService: Service, Sendable {
    let settings: ServerSettings
    let logger: Logger
    let store: any VigilStore
    /// `files.directory`, absolute and without `.` or `..` components.
    let root: String
    let partials: PartialDirectory
    let claims = TransferClaims()
    /// Connected clients files can be passed on to.
    let pushes: PushTargets
    let threadPool: NIOThreadPool

    /// The name of the partials directory inside `files.directory` (a client id never starts with a dot here).
    static let partialDirectoryName = ".partial"

    public init(store: any VigilStore, settings: ServerSettings, logger: Logger, threadPool: NIOThreadPool = .singleton) {
        self.settings = settings
        self.logger = logger
        self.store = store
        self.threadPool = threadPool
        self.pushes = PushTargets(logger: logger)
        let root = URL(fileURLWithPath: settings.filesDirectory).standardizedFileURL.path
        self.root = root
        self.partials = PartialDirectory(path: root + "/" + Self.partialDirectoryName, threadPool: threadPool)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.removeExpiredPartials()
            while !Task.isCancelled {
                do { try await Task.sleep(for: self.cleanupInterval) } catch { break }
                await self.removeExpiredPartials()
            }
        }
        // The listener has closed the connections (it stops before this service); each one's open
        // partial is being fsynced and its sidecar written. Wait for that so a restart can resume.
        let open = self.claims.count
        if open > 0 {
            self.logger.info("waiting for open file transfers to be made resumable", metadata: ["open": "\(open)"])
            if !(await self.claims.waitUntilIdle(timeout: self.settings.closeTimeout * 2)) {
                self.logger.warning("file transfers still open at shutdown; their partials resume from the last sync", metadata: ["open": "\(self.claims.count)"])
            }
        }
    }

    /// How often partials are checked for expiry: a tenth of the retention, between 1 s and 10 min.
    var cleanupInterval: Duration {
        min(max(self.settings.filePartialRetention / 10, .seconds(1)), .seconds(600))
    }

    /// Deletes partial files not written for `files.partial_retention`, except open transfers'.
    func removeExpiredPartials() async {
        let expired = await self.partials.expired(olderThan: self.settings.filePartialRetention)
        guard !expired.isEmpty else { return }
        await self.removePartials(ifStillExpired: expired)
    }

    /// Deletes those of `candidates` (listed as expired a moment ago) that are still expired once
    /// claimed: one resumed, written and released between the listing and the claim is kept.
    func removePartials(ifStillExpired candidates: [UUID]) async {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let retention = self.settings.filePartialRetention
        var removed = 0
        for id in candidates {
            // Claimed while it is deleted, so an offer resuming it now waits or starts afresh.
            guard case .claimed = self.claims.claim(id, owner: TransferClaims.cleaner, sender: "", size: 0, eventLoop: loop) else { continue }
            if await self.partials.isExpired(id, olderThan: retention) {
                await self.partials.remove(id)
                removed += 1
            }
            self.claims.release(id, owner: TransferClaims.cleaner)
        }
        if removed > 0 {
            self.logger.info("removed expired partial files", metadata: ["count": "\(removed)", "retention": "\(retention.compactDescription)"])
        }
    }

    // MARK: Places

    /// The directory a client's files go to, or `nil` when its id cannot name one safely (empty, a
    /// dot name, a separator or control character: see ``FileName``).
    func senderDirectory(for clientID: String) -> String? {
        guard let name = try? FileName.validate(clientID), name == clientID, !name.hasPrefix(".") else { return nil }
        return self.root + "/" + name
    }

    /// Where a catalogued file's bytes are; `nil` if its recorded path would leave `files.directory`.
    func path(of file: StoredFile) -> String? {
        let components = file.storedPath.split(separator: "/", omittingEmptySubsequences: false)
        guard components.count == 2, components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else { return nil }
        return self.root + "/" + file.storedPath
    }

    // MARK: Offers

    /// What an offer comes to once the catalog and the disk have been asked.
    enum Preparation {
        case ready(PartialFile)
        case rejected(ErrorCode, String, fileID: String?)
    }

    /// Checks an offer against the catalog (duplicate, quota) and the disk, then opens its partial
    /// (resuming one with the same transfer id, sender, size and SHA-256). The caller has claimed the id.
    func prepare(_ manifest: TransferManifest) async -> Preparation {
        let id = manifest.transferID
        do {
            if let existing = try await self.store.file(transferID: id.uuidString.lowercased()) {
                // Another sender's file: say nothing about it (not its name, not its id).
                guard existing.sender == manifest.sender else { return Self.inUse(id) }
                return .rejected(.duplicate, "transfer \(id.uuidString.lowercased()) was already saved as \(existing.filename.debugDescription) (file \(existing.id))", fileID: existing.id)
            }
            if let recipient = manifest.recipient {
                guard try await self.store.isKnown(recipient) else {
                    return .rejected(.unknownRecipient, "recipient \(recipient.prefix(253).debugDescription) has never registered with this server", fileID: nil)
                }
                guard self.pushes.isOnline(recipient) else {
                    return .rejected(.recipientOffline, "recipient \(recipient.prefix(253).debugDescription) is not connected; a file is passed on only to a connected client", fileID: nil)
                }
            }
            let stored = try await self.store.storedBytes(sender: manifest.sender)
            let reserved = self.claims.reservedBytes(sender: manifest.sender, excluding: id)
            let quota = self.settings.fileQuotaPerClient
            if Self.saturatingSum(stored, reserved, manifest.size) > quota {
                return .rejected(.overQuota, "\(manifest.sender) stores \(stored) bytes (\(reserved) more arriving); \(manifest.size) more would pass its quota of \(quota) bytes (files.quota_per_client)", fileID: nil)
            }
        } catch {
            self.logger.error("file catalog unavailable", metadata: ["error": "\(error)"])
            return .rejected(.ioError, "the server could not read its file catalog; retry later", fileID: nil)
        }
        let resumable = await self.partials.existing(id)
        // Another sender's partial under this id is left alone: opening would start it afresh.
        if let resumable, resumable.manifest.sender != manifest.sender { return Self.inUse(id) }
        let already = resumable.flatMap { $0.manifest.isSameFile(as: manifest) ? $0.durableOffset : nil } ?? 0
        let needed = Self.saturatingSum(manifest.size - min(already, manifest.size), self.claims.reservedDisk(excluding: id))
        let root = self.root
        let available: UInt64
        do {
            available = try await self.threadPool.runIfActive { try DiskSpace.available(at: root) }
        } catch {
            self.logger.error("cannot read free disk space", metadata: ["error": "\(error)", "directory": "\(root)"])
            return .rejected(.ioError, "the server could not check its free disk space; retry later", fileID: nil)
        }
        let minimum = self.settings.fileMinFreeDisk
        if available < minimum || available - minimum < needed {
            return .rejected(.insufficientDisk, "\(needed) bytes needed, \(available) free, and \(minimum) must stay free (files.min_free_disk)", fileID: nil)
        }
        do {
            return .ready(try await self.partials.open(manifest, syncInterval: self.settings.fileSyncInterval))
        } catch {
            self.logger.error("cannot open partial file", metadata: ["error": "\(error)", "transfer": "\(id)"])
            return .rejected(.ioError, "the server could not create the file: \(error.reason)", fileID: nil)
        }
    }

    /// The refusal of a transfer id that another sender holds (open, partial or saved). Transfer ids
    /// are scoped by sender: the answer names neither the other sender nor its file.
    static func inUse(_ id: UUID) -> Preparation {
        .rejected(.invalidOffer, Self.inUseReason(id), fileID: nil)
    }

    static func inUseReason(_ id: UUID) -> String {
        "transfer \(id.uuidString.lowercased()) is in use by another client; offer the file under a new transfer id"
    }

    /// The sum, or `UInt64.max` if it does not fit (sizes come from clients).
    static func saturatingSum(_ values: UInt64...) -> UInt64 {
        var total: UInt64 = 0
        for value in values {
            let (sum, overflow) = total.addingReportingOverflow(value)
            if overflow { return .max }
            total = sum
        }
        return total
    }

    /// Records a file that is verified and in place. When the catalog already holds this transfer
    /// (it cannot, while the transfer is claimed, but the catalog decides), the new copy is removed
    /// and the recorded file returned. When recording fails, the file is removed: nothing stays on
    /// disk that the catalog does not know.
    func record(_ saved: SavedFile, _ manifest: TransferManifest) async throws -> StoredFile {
        let relative = String(saved.path.dropFirst(self.root.count + 1))
        let file = StoredFile(
            transferID: manifest.transferID.uuidString.lowercased(), sender: manifest.sender, recipient: manifest.recipient,
            filename: saved.filename, storedPath: relative, size: saved.size, sha256: saved.sha256
        )
        do {
            let recorded = try await self.store.recordFile(file)
            if recorded.id != file.id {
                await self.remove(saved.path)
                // Claims and prepare() keep another sender's id out; should one slip through, its
                // file is not handed to this sender.
                guard recorded.sender == file.sender else { throw TransferError(.invalidOffer, Self.inUseReason(manifest.transferID)) }
            }
            return recorded
        } catch {
            await self.remove(saved.path)
            throw error
        }
    }

    private func remove(_ path: String) async {
        _ = try? await self.threadPool.runIfActive { try? FileManager.default.removeItem(atPath: path) }
    }

    // MARK: Passing files on

    /// The transfer id under which `fileID` is offered to `recipient`: the same every time (a
    /// SHA-256 of both, as a version 8 UUID), so a client whose connection dropped resumes it.
    static func pushTransferID(fileID: String, recipient: String) -> UUID {
        var bytes = Array(SHA256.hash(data: Array("vigil file push\n\(fileID)\n\(recipient)".utf8)).prefix(16))
        bytes[6] = 0x80 | (bytes[6] & 0x0F)  // version 8: custom
        bytes[8] = 0x80 | (bytes[8] & 0x3F)  // RFC 9562 variant
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// Why a file cannot be passed on (`POST /api/files/{id}/push`).
    enum PushRefusal: Error {
        case unknownFile
        case unknownRecipient
        case recipientOffline
    }

    /// Offers a stored file to a connected client (`POST /api/files/{id}/push`).
    func push(fileID: String, to recipient: String) async throws -> StoredFile {
        guard let file = try await self.store.file(id: fileID) else { throw PushRefusal.unknownFile }
        guard self.pushes.isOnline(recipient) else {
            throw try await self.store.isKnown(recipient) ? PushRefusal.recipientOffline : PushRefusal.unknownRecipient
        }
        guard self.pushes.push(file, to: recipient) else { throw PushRefusal.recipientOffline }
        self.logger.info("file offered to a client", metadata: ["file_id": "\(file.id)", "recipient": "\(recipient.logEscaped)"])
        return file
    }

    // MARK: Catalog (HTTP)

    /// Files newest first (`GET /api/files`).
    public func list(sender: String?, before: String?, limit: Int) async throws -> [StoredFile] {
        try await self.store.files(sender: sender, before: before, limit: limit)
    }

    /// One file's record (`GET /api/files/{id}`).
    public func file(id: String) async throws -> StoredFile? {
        try await self.store.file(id: id)
    }
}
