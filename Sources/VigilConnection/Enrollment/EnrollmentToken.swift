#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything a host needs to join a Vigil server, in one string an operator copies:
/// the server address(es), the agent key, optionally the host name, and the fingerprint of the
/// server's CA (the pin). `vigil keys create --host web1` prints one; `vigil-agent enroll TOKEN`
/// and the people's tools' `--token` read it.
///
/// Format: `vigil1.` followed by the base64url (no padding) of compact JSON:
/// `{"servers":["host:port",...],"key":"vk_...","host":"web1","ca":"sha256:<64 hex>"}`.
/// Unknown JSON fields are ignored, so later versions may add some.
public struct EnrollmentToken: Sendable, Equatable {
    public static let prefix = "vigil1."
    /// The longest token accepted, in bytes: far above any real one (a few servers, a key, a name).
    public static let maxLength = 8192
    /// The longest agent key accepted from a token.
    public static let maxKeyLength = 512
    /// The longest host name accepted (a DNS name's limit).
    public static let maxHostLength = 253

    /// In order of preference; never empty.
    public var servers: [ServerAddress]
    /// The agent key, `vk_…`.
    public var key: String
    /// The host name the key is bound to, when the key is bound to one.
    public var host: String?
    /// The fingerprint of the server's CA: a client refuses any chain without it.
    public var caFingerprint: CertificateFingerprint

    public init(servers: [ServerAddress], key: String, host: String?, caFingerprint: CertificateFingerprint) {
        self.servers = servers
        self.key = key
        self.host = host
        self.caFingerprint = caFingerprint
    }

    /// Reads a token; leading and trailing white space (from a copy and paste) is ignored.
    /// Never traps: every fault is an ``EnrollmentTokenError`` that says what is wrong.
    public init(parsing text: String) throws(EnrollmentTokenError) {
        let trimmed = text.utf8.count > Self.maxLength + 64 ? Substring(text) : Substring(text).trimmingWhitespace()
        guard !trimmed.isEmpty else { throw .empty }
        guard trimmed.utf8.count <= Self.maxLength else { throw .tooLong(limit: Self.maxLength) }
        guard trimmed.hasPrefix(Self.prefix) else { throw .wrongPrefix }
        guard let json = Self.base64URLDecode(trimmed.dropFirst(Self.prefix.count)) else { throw .badBase64 }
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: json)
        } catch let DecodingError.typeMismatch(_, context) where !context.codingPath.isEmpty {
            throw .badJSON("field \(Self.path(context.codingPath)) has the wrong type")
        } catch let DecodingError.valueNotFound(_, context) {
            throw .badJSON("field \(Self.path(context.codingPath)) is null")
        } catch {
            throw .badJSON("not a JSON object")
        }
        guard let serverTexts = fields.servers else { throw .missingField("servers") }
        guard !serverTexts.isEmpty else { throw .emptyField("servers") }
        var servers: [ServerAddress] = []
        for text in serverTexts {
            guard let address = ServerAddress(parsing: text), Self.isHost(address.host) else { throw .badAddress(text) }
            servers.append(address)
        }
        guard let key = fields.key else { throw .missingField("key") }
        guard !key.isEmpty else { throw .emptyField("key") }
        guard key.hasPrefix("vk_"), key.utf8.count <= Self.maxKeyLength,
              key.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f })
        else { throw .badKey }
        if let host = fields.host {
            guard !host.isEmpty else { throw .emptyField("host") }
            guard host.utf8.count <= Self.maxHostLength,
                  host.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f })
            else { throw .badHost }
        }
        guard let ca = fields.ca else { throw .missingField("ca") }
        guard !ca.isEmpty else { throw .emptyField("ca") }
        guard let fingerprint = CertificateFingerprint(parsing: ca) else { throw .badFingerprint }
        self.init(servers: servers, key: key, host: fields.host, caFingerprint: fingerprint)
    }

    /// The token's text: `vigil1.` + base64url(JSON), the JSON's keys in a fixed order.
    public func encoded() -> String {
        var json = "{\"servers\":[" + self.servers.map { Self.jsonString($0.description) }.joined(separator: ",") + "]"
        json += ",\"key\":" + Self.jsonString(self.key)
        if let host = self.host { json += ",\"host\":" + Self.jsonString(host) }
        json += ",\"ca\":" + Self.jsonString(self.caFingerprint.description) + "}"
        let base64 = Data(json.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return Self.prefix + base64
    }

    /// A DNS name (letters, digits, `.`, `-`, `_`) or an IP address literal: nothing that would
    /// print as another address.
    static func isHost(_ host: String) -> Bool {
        if host.contains(":") { return IPAddressText.bytes(host) != nil }
        return !host.isEmpty && host.utf8.count <= Self.maxHostLength && host.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    /// The JSON as decoded: every field optional, so a missing one gets its own error.
    private struct Fields: Decodable {
        var servers: [String]?
        var key: String?
        var host: String?
        var ca: String?
    }

    private static func base64URLDecode(_ text: Substring) -> Data? {
        guard !text.isEmpty, text.utf8.count % 4 != 1,
              text.utf8.allSatisfy({ byte in
                  (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                      || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
              })
        else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        return Data(base64Encoded: standard)
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    /// A JSON string literal (quotes, backslashes and control characters escaped).
    private static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var text = self
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }
}
