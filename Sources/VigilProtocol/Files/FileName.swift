import Foundation  // NFC normalisation lives in full Foundation only

/// The rules for a file name in `FILE_OFFER`, shared by every sender and receiver so both refuse
/// the same names for the same reason.
///
/// A name is one path component. It is refused, never silently rewritten, when it could mean
/// something else on disk: a separator (`/` or `\`), `.` or `..`, a NUL or other control character,
/// emptiness, or more than ``maxBytes`` bytes. An accepted name is normalised to Unicode NFC, so
/// `é` typed two ways lands on one file.
public enum FileName {
    /// The longest accepted name, in UTF-8 bytes after normalisation (Linux's NAME_MAX).
    public static let maxBytes = 255

    /// Checks an offered name and returns it in the form to store.
    ///
    /// - Parameter name: The name as offered.
    /// - Returns: The NFC-normalised name.
    /// - Throws: ``ProtocolViolation`` with code `invalid_name` and the exact reason.
    public static func validate(_ name: String) throws(ProtocolViolation) -> String {
        if name.isEmpty {
            throw ProtocolViolation(.invalidName, "file name is empty")
        }
        if let bad = name.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) }) {
            let what = bad.value == 0 ? "a NUL byte" : "control character U+\(String(bad.value, radix: 16, uppercase: true).leftPadded(to: 4))"
            throw ProtocolViolation(.invalidName, "file name contains \(what)")
        }
        if name.contains("/") || name.contains("\\") {
            throw ProtocolViolation(.invalidName, "file name contains a path separator ('/' or '\\'); send the name only, without directories")
        }
        if name == "." || name == ".." {
            throw ProtocolViolation(.invalidName, "file name \(name.debugDescription) names a directory")
        }
        let normalised = name.precomposedStringWithCanonicalMapping
        if normalised.utf8.count > Self.maxBytes {
            throw ProtocolViolation(.invalidName, "file name is \(normalised.utf8.count) bytes long; the limit is \(Self.maxBytes)")
        }
        return normalised
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - self.count)) + self
    }
}
