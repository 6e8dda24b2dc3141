import Foundation
import PropertyBased
import Testing
import VigilConnection

@Suite("Enrollment tokens")
struct EnrollmentTokenTests {
    static let fingerprint = CertificateFingerprint(parsing: "sha256:" + String(repeating: "ab", count: 32))!
    static let key = "vk_abcdefghijkl_" + String(repeating: "x", count: 43)

    /// `vigil1.` + base64url (no padding) of `json`.
    static func token(json: String) -> String {
        "vigil1." + Data(json.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    @Test("a token round-trips through its text, and its JSON is the documented shape")
    func roundTrip() throws {
        let token = EnrollmentToken(servers: [ServerAddress(host: "vigil.example.com", port: 5001), ServerAddress(host: "::1", port: 6001)],
                                    key: Self.key, host: "web1", caFingerprint: Self.fingerprint)
        let text = token.encoded()
        #expect(text.hasPrefix("vigil1."))
        #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
        #expect(try EnrollmentToken(parsing: text) == token)
        #expect(try EnrollmentToken(parsing: "  \(text)\n") == token, "white space from a copy and paste is ignored")
        let json = #"{"servers":["vigil.example.com:5001","[::1]:6001"],"key":"\#(Self.key)","host":"web1","ca":"\#(Self.fingerprint)"}"#
        #expect(text == Self.token(json: json))
    }

    @Test("the host is optional; unknown fields are ignored")
    func optionalHost() throws {
        let parsed = try EnrollmentToken(parsing: Self.token(json: #"{"servers":["10.0.0.1"],"key":"\#(Self.key)","ca":"\#(Self.fingerprint)","later":1}"#))
        #expect(parsed.host == nil)
        #expect(parsed.servers == [ServerAddress(host: "10.0.0.1", port: 5001)])
    }

    @Test("each fault has its own error", arguments: [
        ("", EnrollmentTokenError.empty),
        ("vigil2.eyJ9", .wrongPrefix),
        ("vk_abc", .wrongPrefix),
        ("vigil1.", .badBase64),
        ("vigil1.!!!!", .badBase64),
        ("vigil1.abcde", .badBase64),
        (EnrollmentTokenTests.token(json: "[1,2]"), .badJSON("not a JSON object")),
        (EnrollmentTokenTests.token(json: "{"), .badJSON("not a JSON object")),
        (EnrollmentTokenTests.token(json: #"{"servers":"a:1","key":"vk_x","ca":"sha256:00"}"#), .badJSON("field servers has the wrong type")),
        (EnrollmentTokenTests.token(json: #"{"key":"vk_x","ca":"x"}"#), .missingField("servers")),
        (EnrollmentTokenTests.token(json: #"{"servers":[],"key":"vk_x","ca":"x"}"#), .emptyField("servers")),
        (EnrollmentTokenTests.token(json: #"{"servers":["a:99999"],"key":"vk_x","ca":"x"}"#), .badAddress("a:99999")),
        (EnrollmentTokenTests.token(json: #"{"servers":["a:1"],"ca":"x"}"#), .missingField("key")),
        (EnrollmentTokenTests.token(json: #"{"servers":["a:1"],"key":"","ca":"x"}"#), .emptyField("key")),
        (EnrollmentTokenTests.token(json: #"{"servers":["a:1"],"key":"sk_x","ca":"x"}"#), .badKey),
        (EnrollmentTokenTests.token(json: #"{"servers":["a:1"],"key":"vk_x y","ca":"x"}"#), .badKey),
        (EnrollmentTokenTests.token(json: #"{"servers":["a:1"],"key":"vk_x","host":"","ca":"x"}"#), .emptyField("host")),
        (EnrollmentTokenTests.token(json: #"{"servers":["a:1"],"key":"vk_x"}"#), .missingField("ca")),
        (EnrollmentTokenTests.token(json: #"{"servers":["a:1"],"key":"vk_x","ca":"sha1:00"}"#), .badFingerprint),
        (EnrollmentTokenTests.token(json: #"{"servers":["a:1"],"key":"vk_x","ca":"sha256:\#(String(repeating: "g", count: 64))"}"#), .badFingerprint),
        ("vigil1." + String(repeating: "A", count: 9000), .tooLong(limit: EnrollmentToken.maxLength)),
    ])
    func faults(text: String, expected: EnrollmentTokenError) {
        #expect(throws: expected) { try EnrollmentToken(parsing: text) }
    }

    @Test("error messages say what to do")
    func messages() {
        #expect(EnrollmentTokenError.wrongPrefix.description == "not an enrollment token: it must start with vigil1. (was it copied whole?)")
        #expect(EnrollmentTokenError.missingField("ca").description == "the enrollment token has no \"ca\"")
    }

    @Test("random text never crashes the parser")
    func randomText() async {
        await propertyCheck(count: 3000, input: Gen.character(in: " "..."~").string(of: 0...300)) { text in
            _ = try? EnrollmentToken(parsing: text)
            _ = try? EnrollmentToken(parsing: "vigil1." + text)
        }
    }

    @Test("random bytes behind the prefix never crash the parser")
    func randomPayload() async {
        await propertyCheck(count: 3000, input: Gen<UInt8>.value(in: 0...255).array(of: 0...300)) { bytes in
            let encoded = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            _ = try? EnrollmentToken(parsing: "vigil1." + encoded)
            _ = try? EnrollmentToken(parsing: String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test("random JSON-shaped payloads either parse into a token that re-encodes to itself or fail with an error")
    func randomFields() async {
        let field = Gen.character(in: " "..."~").string(of: 0...40)
        await propertyCheck(count: 2000, input: field, field) { server, key in
            let json = #"{"servers":[\#(Self.jsonString(server))],"key":\#(Self.jsonString("vk_" + key)),"ca":"\#(Self.fingerprint)"}"#
            if let token = try? EnrollmentToken(parsing: Self.token(json: json)) {
                #expect((try? EnrollmentToken(parsing: token.encoded())) == token)
            }
        }
    }

    private static func jsonString(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    @Test("fingerprints parse in either case and print in lower case")
    func fingerprints() {
        let upper = "SHA256:" + String(repeating: "AB", count: 32)
        #expect(CertificateFingerprint(parsing: upper)?.description == "sha256:" + String(repeating: "ab", count: 32))
        #expect(CertificateFingerprint(parsing: "sha256:" + String(repeating: "a", count: 63)) == nil)
        #expect(CertificateFingerprint(parsing: "sha256:" + String(repeating: "é", count: 64)) == nil)
        #expect(CertificateFingerprint(derEncoded: [1, 2, 3]).description == "sha256:039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81")
    }

    @Test("server addresses: host:port, [v6]:port, host alone")
    func serverAddresses() {
        #expect(ServerAddress(parsing: "a.example:7000") == ServerAddress(host: "a.example", port: 7000))
        #expect(ServerAddress(parsing: "[::1]:7000") == ServerAddress(host: "::1", port: 7000))
        #expect(ServerAddress(parsing: "a.example") == ServerAddress(host: "a.example", port: 5001))
        #expect(ServerAddress(parsing: "a:0") == nil)
        #expect(ServerAddress(parsing: "[::1") == nil)
        #expect(ServerAddress(host: "::1", port: 1).description == "[::1]:1")
    }
}
