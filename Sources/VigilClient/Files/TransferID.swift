import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The transfer id of a file offer, derived from what identifies the transfer rather than drawn at
/// random: the same sender sending the same file (path, size, content) to the same place gets the
/// same id, so running `vigil send-file` again after a kill resumes where the server stopped
/// instead of starting over; and a file already saved is recognised (`duplicate`).
public enum TransferID {
    /// A version-5-style UUID (RFC 9562 layout) from the SHA-256 of the transfer's identity, lower case.
    public static func derive(sender: String, absolutePath: String, size: UInt64, sha256: String, recipient: String?) -> String {
        var hasher = SHA256()
        // NUL separators: no field can contain one (paths and names cannot), so fields cannot run together.
        for field in ["vigil-transfer-v1", sender, absolutePath, String(size), sha256, recipient ?? ""] {
            hasher.update(data: Array(field.utf8))
            hasher.update(data: [0])
        }
        var bytes = Array(hasher.finalize().prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50  // version 5 (name-based, SHA)
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC variant
        let uuid = UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        return uuid.uuidString.lowercased()
    }
}
