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

/// The small JSON file next to a partial file (`<id>.json` beside `<id>.part`): what the partial is
/// receiving and how many of its bytes are durably on disk. Written whole to a temporary file,
/// fsynced and renamed over the old one, so a crash leaves the old sidecar or the new one, never half.
struct PartialSidecar: Codable, Equatable {
    /// The sidecar format; a reader that finds another one starts the transfer afresh.
    var version = 1
    var manifest: TransferManifest
    /// Bytes at the start of the partial that were fsynced before this sidecar was written.
    var durableOffset: UInt64

    enum CodingKeys: String, CodingKey {
        case version, manifest
        case durableOffset = "durable_offset"
    }

    /// Reads a sidecar; `nil` if it is missing, unreadable or of another format (the partial is then
    /// treated as unknown and started again rather than trusted).
    static func read(_ path: String) -> PartialSidecar? {
        guard let fd = try? POSIX.open(path, O_RDONLY) else { return nil }
        defer { POSIX.close(fd) }
        guard let size = try? POSIX.size(fd, path: path), size <= 1 << 20 else { return nil }
        var buffer = Buffers.make(capacity: Int(size))
        guard (try? POSIX.pread(fd, into: &buffer, count: Int(size), at: 0, path: path)) == Int(size) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        guard let sidecar = try? decoder.decode(PartialSidecar.self, from: Data(buffer.readableBytesView)), sidecar.version == 1 else { return nil }
        return sidecar
    }

    /// Writes the sidecar atomically and makes the rename durable.
    func write(to path: String, directory: String) throws(TransferError) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(self)
        } catch {
            throw TransferError(.ioError, "cannot encode the sidecar \(path): \(error)")
        }
        let temporary = path + ".tmp"
        let fd = try POSIX.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        do throws(TransferError) {
            try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                Result { () throws(TransferError) in try POSIX.pwriteAll(fd, raw, at: 0, path: temporary) }
            }.get()
            try POSIX.fsync(fd, path: temporary)
        } catch {
            POSIX.close(fd)
            try? POSIX.unlink(temporary)
            throw error
        }
        POSIX.close(fd)
        try POSIX.rename(temporary, path)
        try POSIX.fsyncDirectory(directory)
    }
}
