import Foundation
import Testing
import VigilAgent

/// `spool.*` of `vigil-agent`: defaults, agent.json, the environment, `--spool-dir`, and refusals.
@Suite("Agent spool settings")
struct AgentSpoolSettingsTests {
    static func load(_ options: AgentOptions = AgentOptions(), environment: [String: String] = [:]) throws -> AgentSettings {
        try AgentSettings.load(options: options, environment: ["HOME": "/nonexistent-vigil-home"].merging(environment) { $1 }, defaultHostname: "this-machine")
    }

    @Test("default: spool/ in the configuration directory, 64 MiB, 24 h, 50 samples/s")
    func defaults() throws {
        let spool = try #require(try Self.load().spool)
        #expect(spool.directory == "/nonexistent-vigil-home/.config/vigil/spool")
        #expect(spool.maxBytes == 64 << 20)
        #expect(spool.maxAge == .seconds(86_400))
        #expect(spool.replayRate == 50)
    }

    @Test("agent.json's spool object, relative to the configuration directory; the environment wins over it; --spool-dir over both; off turns it off")
    func sources() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-spool-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(#"{"servers":["a:1"],"spool":{"directory":"queue","max_bytes":"1MiB","max_age":"90m","replay_rate":7}}"#.utf8)
            .write(to: URL(fileURLWithPath: directory + "/agent.json"))
        var options = AgentOptions()
        options.configDirectory = directory
        let file = try #require(try Self.load(options).spool)
        #expect(file.directory == directory + "/queue")
        #expect(file.maxBytes == 1 << 20)
        #expect(file.maxAge == .seconds(5400))
        #expect(file.replayRate == 7)
        let environment = try #require(try Self.load(options, environment: [
            "VIGIL_SPOOL_DIR": "/tmp/elsewhere", "VIGIL_SPOOL_MAX_BYTES": "131072", "VIGIL_SPOOL_MAX_AGE": "3600", "VIGIL_SPOOL_REPLAY_RATE": "2.5",
        ]).spool)
        #expect(environment == {
            var expected = SpoolSettings(directory: "/tmp/elsewhere")
            expected.maxBytes = 131_072
            expected.maxAge = .seconds(3600)
            expected.replayRate = 2.5
            return expected
        }())
        options.spoolDirectory = "/var/tmp/flag"
        #expect(try Self.load(options, environment: ["VIGIL_SPOOL_DIR": "/tmp/elsewhere"]).spool?.directory == "/var/tmp/flag")
        options.spoolDirectory = "off"
        #expect(try Self.load(options).spool == nil)
    }

    @Test("values out of range or unreadable are refused with the setting's name")
    func refusals() throws {
        for (variable, value, name) in [
            ("VIGIL_SPOOL_MAX_BYTES", "1000", "spool.max_bytes"), ("VIGIL_SPOOL_MAX_BYTES", "lots", "spool.max_bytes"),
            ("VIGIL_SPOOL_MAX_AGE", "0", "spool.max_age"), ("VIGIL_SPOOL_MAX_AGE", "forever", "spool.max_age"),
            ("VIGIL_SPOOL_REPLAY_RATE", "0", "spool.replay_rate"), ("VIGIL_SPOOL_REPLAY_RATE", "fast", "spool.replay_rate"),
        ] {
            #expect(throws: AgentConfigurationError.self, "\(variable)=\(value)") { _ = try Self.load(environment: [variable: value]) }
            do {
                _ = try Self.load(environment: [variable: value])
            } catch {
                #expect("\(error)".contains(name))
            }
        }
    }
}
