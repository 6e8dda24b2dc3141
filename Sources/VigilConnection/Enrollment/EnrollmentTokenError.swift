/// What is wrong with an enrollment token, precisely enough to tell a bad copy from a bad token.
public enum EnrollmentTokenError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case tooLong(limit: Int)
    /// It does not start with `vigil1.` (another format, or a partial copy).
    case wrongPrefix
    /// What follows `vigil1.` is not base64url.
    case badBase64
    /// The decoded bytes are not the JSON object expected.
    case badJSON(String)
    case missingField(String)
    case emptyField(String)
    /// The key is not an agent key (`vk_…`, printable ASCII).
    case badKey
    case badHost
    /// `ca` is not `sha256:` followed by 64 hex digits.
    case badFingerprint
    /// A server is not `host:port`.
    case badAddress(String)

    public var description: String {
        switch self {
        case .empty: "the enrollment token is empty"
        case .tooLong(let limit): "the enrollment token is longer than \(limit) bytes"
        case .wrongPrefix: "not an enrollment token: it must start with \(EnrollmentToken.prefix) (was it copied whole?)"
        case .badBase64: "the enrollment token is damaged: the text after \(EnrollmentToken.prefix) is not base64url (was it copied whole?)"
        case .badJSON(let detail): "the enrollment token is damaged: its content is not valid (\(detail))"
        case .missingField(let field): "the enrollment token has no \"\(field)\""
        case .emptyField(let field): "the enrollment token's \"\(field)\" is empty"
        case .badKey: "the enrollment token's key is not an agent key (vk_...)"
        case .badHost: "the enrollment token's host name is not a valid name"
        case .badFingerprint: "the enrollment token's CA fingerprint is not sha256: followed by 64 hex digits"
        case .badAddress(let text): "the enrollment token's server \"\(text.debugDescription.dropFirst().dropLast())\" is not host:port"
        }
    }
}
