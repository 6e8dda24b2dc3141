#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import VigilProtocol
import VigilTransfer

/// A local file ready to offer: its name, size, SHA-256 and the transfer id derived from them.
public struct PreparedFile: Sendable, Equatable {
    /// Absolute path.
    public var path: String
    /// The name offered (the last path component, NFC), checked by the same rules as the server's.
    public var filename: String
    public var size: UInt64
    /// 64 lower-case hex digits.
    public var sha256: String
    /// Derived (``TransferID``): the same file sent again by the same sender to the same place resumes.
    public var transferID: String
    /// The client the server passes the file on to, or `nil` to keep it on the server.
    public var recipient: String?

    public init(path: String, filename: String, size: UInt64, sha256: String, transferID: String, recipient: String?) {
        self.path = path
        self.filename = filename
        self.size = size
        self.sha256 = sha256
        self.transferID = transferID
        self.recipient = recipient
    }

    /// Reads and hashes `path` (on a thread pool, 1 MiB at a time) and derives the transfer id.
    ///
    /// - Parameters:
    ///   - sender: The name the sender registers as (part of the transfer id).
    ///   - recipient: The client to pass the file on to, if any.
    /// - Throws: `TransferError`: `io_error` when the file cannot be read or is a directory,
    ///   `invalid_name` when its name would be refused (the server's rules, checked here first).
    public static func prepare(path: String, sender: String, recipient: String?) async throws(TransferError) -> PreparedFile {
        let absolute = Self.absolute(path)
        let file = try await OutgoingFile.open(path: absolute)
        defer { file.close() }
        let filename: String
        do {
            filename = try FileName.validate(file.filename)
        } catch {
            throw TransferError(.invalidName, "the name of \(path) cannot be sent: \(error.detail)")
        }
        let sha256 = try await file.sha256()
        return PreparedFile(
            path: absolute, filename: filename, size: file.size, sha256: sha256,
            transferID: TransferID.derive(sender: sender, absolutePath: absolute, size: file.size, sha256: sha256, recipient: recipient),
            recipient: recipient
        )
    }

    /// `path` made absolute against the working directory, with `.` and `..` components resolved.
    static func absolute(_ path: String) -> String {
        let base = path.hasPrefix("/") ? "" : FileManager.default.currentDirectoryPath
        var parts: [Substring] = []
        for part in (base + "/" + path).split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The offer for this file.
    var offer: FileOfferPayload {
        FileOfferPayload(transferID: self.transferID, filename: self.filename, size: self.size, sha256: self.sha256, recipient: self.recipient)
    }
}
