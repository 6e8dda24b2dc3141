import Crypto
import Foundation

/// `X-Vigil-Signature-256`: `sha256=` and the lowercase hex HMAC-SHA256 of the exact body bytes,
/// GitHub's convention, so receivers can reuse their verification code (compare in constant time).
public enum WebhookSignature {
    public static let headerName = "X-Vigil-Signature-256"

    public static func header(body: [UInt8], key: SymmetricKey) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: key)
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `header` is the signature of `body` under `key` (constant-time comparison).
    public static func verify(header: String, body: [UInt8], key: SymmetricKey) -> Bool {
        guard header.hasPrefix("sha256="), let code = Self.bytes(hex: header.dropFirst("sha256=".count)) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: body, using: key)
    }

    private static func bytes(hex: Substring) -> [UInt8]? {
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
