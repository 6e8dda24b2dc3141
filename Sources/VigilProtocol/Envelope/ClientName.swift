/// The rules for a client id: the name a host or a person is known by. One set of rules for every
/// way a name arrives (the host a key is bound to, a `hostname`/`name` under open enrollment, the
/// `sender_id` of a version-0 register, a key being created), so a name refused one way cannot get
/// in another.
///
/// An id is 1-253 bytes of `A-Z a-z 0-9 . - _` (a host name as DNS allows it, plus `_`), does not
/// start with `.` and is not reserved. Ids name directories under `files.directory` (beside the
/// server's own `.partial`), so `.`, `..` and hidden names are out; `server` is the `sender_id` of
/// everything the server sends, its notices included, so no client may be it.
public enum ClientName {
    /// Names no client may have.
    public static let reserved: Set<String> = ["server"]

    /// The rule in words, for refusals and help texts.
    public static let rule = "1-253 characters of letters, digits, '.', '-' and '_', not starting with '.', and not a reserved name (server)"

    /// Whether `name` can be a client id.
    public static func isValid(_ name: String) -> Bool {
        self.violation(name, field: "name") == nil
    }

    /// Why `name` cannot be a client id, or `nil` when it can.
    ///
    /// - Parameter field: Where the name came from, for the message (`payload.hostname`, `sender_id`).
    /// - Returns: `invalid_hostname` for a length or a byte outside the alphabet (as before these
    ///   rules); `invalid_field` for a name that starts with `.` or is reserved.
    public static func violation(_ name: String, field: String) -> ProtocolViolation? {
        guard self.isWellFormed(name) else {
            return ProtocolViolation(.invalidHostname, "\(field) must be 1-253 characters of letters, digits, '.', '-' and '_'")
        }
        if name.hasPrefix(".") {
            return ProtocolViolation(.invalidField, "\(field): \(name.logEscaped) starts with '.'; a client id never does")
        }
        if self.reserved.contains(name) {
            return ProtocolViolation(.invalidField, "\(field): \(name.logEscaped) is reserved for the server itself; choose another name")
        }
        return nil
    }

    private static func isWellFormed(_ name: String) -> Bool {
        (1...ProtocolLimits.maxHostnameBytes).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
    }
}
