import Crypto
import Foundation

/// Random secrets as base64url text (no padding), from the system's cryptographic generator.
enum RandomToken {
    /// `byteCount` random bytes as base64url: 32 bytes give 43 characters.
    static func make(byteCount: Int = 32) -> String {
        var rng = SystemRandomNumberGenerator()  // getrandom(2) on Linux
        let bytes = (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The SHA-256 digest the store keeps instead of a refresh token.
    static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    /// Whether `text` has the shape of a token of `make(byteCount: 32)` (checked before any lookup).
    static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 43 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }
    }
}
