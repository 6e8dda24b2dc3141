import Crypto
import X509

/// The SHA-256 digest of a certificate's DER encoding: how an enrollment token and `--ca` pin the
/// server's CA. Its text form is `sha256:` followed by 64 lowercase hex digits.
public struct CertificateFingerprint: Sendable, Hashable, CustomStringConvertible {
    public static let prefix = "sha256:"
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// The fingerprint of a certificate given as DER bytes.
    public init(derEncoded der: some Sequence<UInt8>) {
        self.bytes = Array(SHA256.hash(data: Array(der)))
    }

    /// The fingerprint of a certificate.
    public init(_ certificate: Certificate) {
        // Serializing a certificate that was parsed or built cannot fail.
        self.init(derEncoded: (try? certificate.derBytes()) ?? [])
    }

    /// Parses `sha256:<64 hex digits>` (either case); `nil` for anything else.
    public init?(parsing text: String) {
        guard text.count == Self.prefix.count + 64, text.lowercased().hasPrefix(Self.prefix) else { return nil }
        let hex = Array(text.utf8.dropFirst(Self.prefix.count))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < hex.count {
            guard let high = Self.nibble(hex[index]), let low = Self.nibble(hex[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.bytes = bytes
    }

    public var description: String {
        Self.prefix + self.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
