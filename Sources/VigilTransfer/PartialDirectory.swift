#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import NIOCore
import NIOPosix

/// The directory of one receiver's partial files: `<id>.part` holds the bytes received so far,
/// `<id>.json` (the sidecar) what they are and how many are durable.
///
/// A receiver keeps it inside the directory files are saved to (for the server,
/// `<files.directory>/.partial`), so the final rename stays on one file system. Partial files are
/// never visible as received files; only ``PartialFile/finish(into:)`` makes one.
public struct PartialDirectory: Sendable {
    /// The directory itself (created on first use, mode 0700).
    public let path: String
    let threadPool: NIOThreadPool

    /// Bytes re-read per step when a resume re-hashes the durable prefix.
    static let rehashStep = 1 << 20

    /// - Parameters:
    ///   - path: The `.partial` directory (absolute).
    ///   - threadPool: Where the blocking file work runs.
    public init(path: String, threadPool: NIOThreadPool = .singleton) {
        self.path = path
        self.threadPool = threadPool
    }

    /// Opens the partial file for a transfer.
    ///
    /// When a partial with this transfer id exists and its sidecar describes the same file (same
    /// sender, size and SHA-256), it is resumed: cut back to its durable offset and that prefix
    /// re-hashed (which reads it whole, off the event loop). Otherwise, including a partial from a
    /// different file under the same id, a new partial starts at 0.
    ///
    /// - Parameters:
    ///   - manifest: The checked offer.
    ///   - syncInterval: Bytes between fsyncs (each moves the durable offset).
    /// - Returns: The open file; its ``PartialFile/startOffset`` is where the sender must start.
    public func open(_ manifest: TransferManifest, syncInterval: UInt64) async throws(TransferError) -> PartialFile {
        do {
            return try await self.threadPool.runIfActive { () throws(TransferError) in
                try self.openNow(manifest, syncInterval: syncInterval)
            }
        } catch {
            throw TransferError.wrapping(error)
        }
    }

    /// What a partial on disk holds, from its sidecar: `nil` when there is none (or it is unreadable).
    public func existing(_ transferID: UUID) async -> (manifest: TransferManifest, durableOffset: UInt64)? {
        let path = self.sidecarPath(transferID)
        let sidecar = try? await self.threadPool.runIfActive { PartialSidecar.read(path) }
        return sidecar.flatMap { $0 }.map { ($0.manifest, $0.durableOffset) }
    }

    /// Transfer ids whose partial files were last written more than `age` ago.
    public func expired(olderThan age: Duration) async -> [UUID] {
        let directory = self.path
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        return (try? await self.threadPool.runIfActive {
            let now = Date().timeIntervalSince1970
            var newest: [UUID: Double] = [:]
            for name in POSIX.list(directory) {
                // `<id>.part`, `<id>.json`, `<id>.json.tmp`: anything else is not ours and stays.
                guard let dot = name.firstIndex(of: "."), let id = UUID(uuidString: String(name[..<dot])) else { continue }
                let time = POSIX.modificationTime(directory + "/" + name) ?? 0
                newest[id] = max(newest[id] ?? 0, time)
            }
            return newest.filter { now - $0.value > seconds }.map(\.key)
        }) ?? []
    }

    /// Whether the partial of `transferID` exists and none of its files was written in the last `age`.
    /// The partial cleaner asks again once it holds the transfer's claim: a partial resumed since
    /// ``expired(olderThan:)`` listed it is no longer stale.
    public func isExpired(_ transferID: UUID, olderThan age: Duration) async -> Bool {
        let paths = [self.partPath(transferID), self.sidecarPath(transferID), self.sidecarPath(transferID) + ".tmp"]
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        return (try? await self.threadPool.runIfActive {
            let times = paths.compactMap { POSIX.modificationTime($0) }
            guard let newest = times.max() else { return false }
            return Date().timeIntervalSince1970 - newest > seconds
        }) ?? false
    }

    /// Deletes a transfer's partial file and sidecar (nothing happens if there are none).
    public func remove(_ transferID: UUID) async {
        let paths = [self.partPath(transferID), self.sidecarPath(transferID), self.sidecarPath(transferID) + ".tmp"]
        let directory = self.path
        _ = try? await self.threadPool.runIfActive {
            for path in paths { try? POSIX.unlink(path) }
            try? POSIX.fsyncDirectory(directory)
        }
    }

    func partPath(_ id: UUID) -> String { self.path + "/" + id.uuidString.lowercased() + ".part" }
    func sidecarPath(_ id: UUID) -> String { self.path + "/" + id.uuidString.lowercased() + ".json" }

    // MARK: Blocking (thread pool only)

    func openNow(_ manifest: TransferManifest, syncInterval: UInt64) throws(TransferError) -> PartialFile {
        try POSIX.makeDirectories(self.path)
        let partPath = self.partPath(manifest.transferID)
        let sidecarPath = self.sidecarPath(manifest.transferID)
        if let sidecar = PartialSidecar.read(sidecarPath), sidecar.manifest.isSameFile(as: manifest), POSIX.exists(partPath) {
            return try self.resume(manifest, sidecar: sidecar, partPath: partPath, sidecarPath: sidecarPath, syncInterval: syncInterval)
        }
        // Nothing to resume, or another file under this id: start clean.
        try POSIX.unlink(partPath)
        try POSIX.unlink(sidecarPath)
        let fd = try POSIX.open(partPath, O_RDWR | O_CREAT | O_TRUNC, mode: 0o644)
        do throws(TransferError) {
            try PartialSidecar(manifest: manifest, durableOffset: 0).write(to: sidecarPath, directory: self.path)
        } catch {
            POSIX.close(fd)
            try? POSIX.unlink(partPath)
            throw error
        }
        return PartialFile(manifest: manifest, fd: fd, hasher: SHA256(), startOffset: 0, path: partPath, sidecarPath: sidecarPath, directory: self.path, syncInterval: syncInterval, threadPool: self.threadPool)
    }

    private func resume(_ offered: TransferManifest, sidecar: PartialSidecar, partPath: String, sidecarPath: String, syncInterval: UInt64) throws(TransferError) -> PartialFile {
        let fd = try POSIX.open(partPath, O_RDWR)
        do throws(TransferError) {
            let onDisk = try POSIX.size(fd, path: partPath)
            // The sidecar is written after the fsync it records, so the file is at least that long; if
            // it is not, the disk lost data and nothing in it is trusted.
            let start = sidecar.durableOffset <= onDisk && sidecar.durableOffset <= offered.size ? sidecar.durableOffset : 0
            // Bytes past the durable offset may be torn or never reached the disk: the sender resends them.
            try POSIX.truncate(fd, to: start, path: partPath)
            var hasher = SHA256()
            var buffer = Buffers.make(capacity: Self.rehashStep)
            var position: UInt64 = 0
            while position < start {
                buffer.clear()
                let want = Int(min(UInt64(Self.rehashStep), start - position))
                let got = try POSIX.pread(fd, into: &buffer, count: want, at: position, path: partPath)
                guard got == want else {
                    throw TransferError(.ioError, "partial file \(partPath) ended at \(position + UInt64(got)) bytes while re-reading \(start)")
                }
                buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                position += UInt64(got)
            }
            try POSIX.fsync(fd, path: partPath)
            var manifest = offered
            manifest.createdAt = sidecar.manifest.createdAt
            // Rewritten also to touch it: a resumed partial is not stale.
            try PartialSidecar(manifest: manifest, durableOffset: start).write(to: sidecarPath, directory: self.path)
            return PartialFile(manifest: manifest, fd: fd, hasher: hasher, startOffset: start, path: partPath, sidecarPath: sidecarPath, directory: self.path, syncInterval: syncInterval, threadPool: self.threadPool)
        } catch {
            POSIX.close(fd)
            throw error
        }
    }
}
