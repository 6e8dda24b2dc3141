import Foundation
import Testing
import VigilAgent
import VigilConnection

@Suite("Agent enrollment")
struct AgentEnrollmentTests {
    static let token = EnrollmentToken(
        servers: [ServerAddress(host: "vigil.example.com", port: 5001)], key: "vk_abcdefghijkl_" + String(repeating: "k", count: 43),
        host: "web1", caFingerprint: CertificateFingerprint(parsing: "sha256:" + String(repeating: "0f", count: 32))!
    )

    static func mode(_ path: String) throws -> Int {
        ((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? NSNumber)?.intValue ?? -1
    }

    @Test("enrolling writes agent.json and agent.key (0600) in a new 0700 directory, and the agent loads them")
    func enrollWritesConfiguration() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-enroll-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = root + "/nested/vigil"
        let result = try AgentEnrollment.enroll(tokenText: Self.token.encoded(), directory: directory)
        #expect(result.configFile == directory + "/agent.json")
        #expect(try Self.mode(directory) == 0o700)
        #expect(try Self.mode(directory + "/agent.json") == 0o600)
        #expect(try Self.mode(directory + "/agent.key") == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["agent.json", "agent.key"], "no temporary files left")
        var options = AgentOptions()
        options.configDirectory = directory
        let settings = try AgentSettings.load(options: options, environment: [:], defaultHostname: "machine")
        #expect(settings.servers == Self.token.servers)
        #expect(settings.key == Self.token.key)
        #expect(settings.hostname == "web1")
        #expect(settings.tls?.trust.pin == Self.token.caFingerprint)
        #expect(AgentEnrollment.matches(Self.token, directory: directory))
    }

    @Test("a second enrollment is refused without force, and replaces the first with it")
    func reenroll() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-reenroll-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try AgentEnrollment.enroll(token: Self.token, directory: directory)
        var other = Self.token
        other.servers = [ServerAddress(host: "other.example.com", port: 5001)]
        #expect(!AgentEnrollment.matches(other, directory: directory))
        #expect(throws: AgentConfigurationError.self) { try AgentEnrollment.enroll(token: other, directory: directory) }
        _ = try AgentEnrollment.enroll(token: other, directory: directory, force: true)
        #expect(AgentEnrollment.matches(other, directory: directory))
    }

    @Test("a malformed token writes nothing")
    func malformedToken() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-malformed-\(UUID().uuidString)").path
        #expect(throws: AgentConfigurationError("invalid enrollment token: the enrollment token has no \"ca\"")) {
            try AgentEnrollment.enroll(tokenText: "vigil1." + Data(#"{"servers":["a:1"],"key":"vk_x"}"#.utf8).base64EncodedString().replacingOccurrences(of: "=", with: ""), directory: directory)
        }
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}
