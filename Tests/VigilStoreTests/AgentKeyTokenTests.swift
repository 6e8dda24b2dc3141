import Foundation
import Testing
@testable import VigilStore

@Suite("AgentKeyToken")
struct AgentKeyTokenTests {
    @Test("constantTimeEquals: equal digests")
    func equal() {
        #expect(AgentKeyToken.constantTimeEquals([], []))
        #expect(AgentKeyToken.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        let digest = Array(0..<32).map(UInt8.init)
        #expect(AgentKeyToken.constantTimeEquals(digest, digest))
    }

    @Test("constantTimeEquals: a difference anywhere, in any bit, makes them unequal")
    func differentBytes() {
        let digest = Array(repeating: UInt8(0x5A), count: 32)
        for index in [0, 1, 15, 31] {
            for bit in [0, 7] {
                var other = digest
                other[index] ^= UInt8(1 << bit)
                #expect(!AgentKeyToken.constantTimeEquals(digest, other), "difference at byte \(index) bit \(bit) missed")
                #expect(!AgentKeyToken.constantTimeEquals(other, digest))
            }
        }
    }

    @Test("constantTimeEquals: different lengths are unequal, even when one is a prefix")
    func differentLengths() {
        #expect(!AgentKeyToken.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(!AgentKeyToken.constantTimeEquals([1, 2], [1, 2, 3]))
        #expect(!AgentKeyToken.constantTimeEquals([], [0]))
        #expect(!AgentKeyToken.constantTimeEquals([0], []))
    }

    @Test("secretDigest is the SHA-256 of the secret's UTF-8 bytes")
    func secretDigest() {
        // SHA-256("abc"), FIPS 180-2 test vector.
        let expected: [UInt8] = [
            0xBA, 0x78, 0x16, 0xBF, 0x8F, 0x01, 0xCF, 0xEA, 0x41, 0x41, 0x40, 0xDE, 0x5D, 0xAE, 0x22, 0x23,
            0xB0, 0x03, 0x61, 0xA3, 0x96, 0x17, 0x7A, 0x9C, 0xB4, 0x10, 0xFF, 0x61, 0xF2, 0x00, 0x15, 0xAD,
        ]
        #expect(AgentKeyToken(id: "abcdefghijkl", secret: "abc").secretDigest == expected)
    }

    @Test("generate: vk_<12 lowercase/digits>_<43 base64url>, parseable, different every time")
    func generate() throws {
        var seen = Set<String>()
        for _ in 0..<50 {
            let token = AgentKeyToken.generate()
            #expect(token.id.count == 12)
            #expect(token.id.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) })
            #expect(token.secret.count == 43)
            #expect(token.secret.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            #expect(token.text == "vk_\(token.id)_\(token.secret)")
            #expect(AgentKeyToken(token.text) == token)
            seen.insert(token.text)
        }
        #expect(seen.count == 50)
    }

    @Test("parsing splits at the first '_' after the prefix")
    func parse() throws {
        let secret = "ab_cd-ef" + String(repeating: "x", count: 35)
        let token = try #require(AgentKeyToken("vk_0123456789ab_\(secret)"))
        #expect(token.id == "0123456789ab")
        #expect(token.secret == secret)
        #expect(AgentKeyToken.prefix == "vk_")
    }

    @Test("parsing rejects other shapes", arguments: [
        "", "vk_", "vk_0123456789ab", "vk_0123456789ab_short",
        "xk_0123456789ab_" + String(repeating: "x", count: 43),
        "vk_0123456789aB_" + String(repeating: "x", count: 43),
        "vk_0123456789a!_" + String(repeating: "x", count: 43),
        "vk_0123456789ab_" + String(repeating: "x", count: 42) + "/",
        "vk_0123456789ab_" + String(repeating: "x", count: 44),
    ])
    func parseRejects(text: String) {
        #expect(AgentKeyToken(text) == nil)
    }
}
