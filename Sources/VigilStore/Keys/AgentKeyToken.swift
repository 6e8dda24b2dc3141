import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The agent key token: `vk_<id>_<secret>`.
///
/// The id is public and indexes the stored key; the secret is 32 random bytes (base64url) of which
/// only a SHA-256 digest is stored. A plain digest suffices (no bcrypt) because the secret has 256
/// bits of entropy: there is nothing to brute-force. Lookup is by id and the digests are compared in
/// constant time, so response timing reveals nothing about the secret.
public struct AgentKeyToken: Sendable, Equatable {
    public static let prefix = "vk_"
    public var id: String
    public var secret: String

    /// Parses `vk_<id>_<secret>`; `nil` when the text has another shape.
    public init?(_ text: String) {
        guard text.hasPrefix(Self.prefix) else { return nil }
        let rest = text.dropFirst(Self.prefix.count)
        guard let separator = rest.firstIndex(of: "_") else { return nil }
        let id = String(rest[..<separator])
        let secret = String(rest[rest.index(after: separator)...])
        guard id.count == 12, id.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber) }),
              secret.count == 43, secret.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { return nil }
        self.id = id
        self.secret = secret
    }

    init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// A new random token.
    public static func generate() -> AgentKeyToken {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var rng = SystemRandomNumberGenerator()  // getrandom(2) on Linux: cryptographically secure
        let id = String((0..<12).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
        let secretBytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return AgentKeyToken(id: id, secret: base64URL(secretBytes))
    }

    public var text: String { "\(Self.prefix)\(self.id)_\(self.secret)" }

    /// The SHA-256 digest of the secret: what the store keeps.
    public var secretDigest: [UInt8] { Array(SHA256.hash(data: Data(self.secret.utf8))) }

    /// Compares two digests in time independent of where they differ.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")
    }
}
