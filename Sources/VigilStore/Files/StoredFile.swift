#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A received file as the catalog records it. The bytes are on disk at
/// `<files.directory>/<storedPath>`; the catalog row is written only after they are verified and in place.
public struct StoredFile: Sendable, Equatable {
    /// The file's id (`GET /api/files/{id}`): a time-ordered UUID (version 7) in lower case, so ids
    /// sort by arrival and page with `before`.
    public var id: String
    /// The sender's transfer id (a UUID); one file per transfer id.
    public var transferID: String
    /// The client that sent it.
    public var sender: String
    /// The client it was meant for, if the sender named one.
    public var recipient: String?
    /// The name it is stored under (after sanitising, maybe `name (2).ext`).
    public var filename: String
    /// Where the bytes are, relative to `files.directory` (`<sender>/<filename>`).
    public var storedPath: String
    public var size: UInt64
    /// 64 lower-case hex digits.
    public var sha256: String
    /// When it was saved.
    public var createdAt: Date

    public init(id: String = StoredFile.newID(), transferID: String, sender: String, recipient: String?, filename: String, storedPath: String, size: UInt64, sha256: String, createdAt: Date = Date()) {
        self.id = id
        self.transferID = transferID
        self.sender = sender
        self.recipient = recipient
        self.filename = filename
        self.storedPath = storedPath
        self.size = size
        self.sha256 = sha256
        self.createdAt = createdAt
    }

    /// A new UUID version 7: 48 bits of Unix milliseconds, then random bits. Lower-case text sorts by time.
    public static func newID(now: Date = Date()) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for i in 0..<16 { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - i))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)  // version 7
        bytes[8] = 0x80 | (bytes[8] & 0x3F)  // RFC 4122 variant
        let uuid = UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        return uuid.uuidString.lowercased()
    }
}
