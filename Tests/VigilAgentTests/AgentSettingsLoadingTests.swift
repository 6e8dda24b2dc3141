import Foundation
import Testing
import VigilAgent
import VigilConnection

/// `vigil-agent`'s configuration: flags, then the environment, then agent.json, then defaults.
@Suite("Agent configuration loading")
struct AgentSettingsLoadingTests {
    static let pin = "sha256:" + String(repeating: "0f", count: 32)
    static let key = "vk_abcdefghijkl_" + String(repeating: "k", count: 43)

    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-agent-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ json: String, in directory: String) throws {
        try Data(json.utf8).write(to: URL(fileURLWithPath: directory + "/agent.json"))
    }

    static func load(_ options: AgentOptions = AgentOptions(), environment: [String: String] = [:]) throws -> AgentSettings {
        // HOME points nowhere real, so the user's own configuration cannot leak in.
        try AgentSettings.load(options: options, environment: ["HOME": "/nonexistent-vigil-home"].merging(environment) { $1 }, defaultHostname: "this-machine")
    }

    @Test("without flags, variables or file: the defaults, plaintext")
    func defaults() throws {
        let settings = try Self.load()
        #expect(settings.servers == [ServerAddress(host: "127.0.0.1", port: 5001)])
        #expect(settings.key == nil)
        #expect(settings.hostname == "this-machine")
        #expect(settings.tls == nil)
    }

    @Test("agent.json gives servers, key file, host name and the CA pin; TLS is on with a pin")
    func fromFile() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data((Self.key + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/agent.key"))
        try Self.write(#"{"servers":["vigil.example.com:7000","10.0.0.2"],"key_file":"agent.key","hostname":"web1","ca_fingerprint":"\#(Self.pin)"}"#, in: directory)
        var options = AgentOptions()
        options.configDirectory = directory
        let settings = try Self.load(options)
        #expect(settings.servers == [ServerAddress(host: "vigil.example.com", port: 7000), ServerAddress(host: "10.0.0.2", port: 5001)])
        #expect(settings.key == Self.key)
        #expect(settings.hostname == "web1")
        #expect(settings.tls?.trust.pin.description == Self.pin)
        #expect(settings.tls?.trust.pinSource == "from the enrollment token")
        #expect(settings.tls?.minimumVersion == .tls13)
    }

    @Test("flags win over the environment, which wins over the file")
    func precedence() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.write(#"{"servers":["file:1"],"hostname":"from-file","ca_fingerprint":"\#(Self.pin)","tls":true}"#, in: directory)
        var options = AgentOptions()
        options.configDirectory = directory
        let fromEnvironment = try Self.load(options, environment: ["VIGIL_SERVERS": "env:2", "VIGIL_HOSTNAME": "from-env", "VIGIL_AGENT_KEY": "vk_env"])
        #expect(fromEnvironment.servers == [ServerAddress(host: "env", port: 2)])
        #expect(fromEnvironment.hostname == "from-env")
        #expect(fromEnvironment.key == "vk_env")
        options.servers = ["flag:3"]
        options.hostname = "from-flag"
        options.tls = false
        let fromFlags = try Self.load(options, environment: ["VIGIL_SERVERS": "env:2", "VIGIL_HOSTNAME": "from-env"])
        #expect(fromFlags.servers == [ServerAddress(host: "flag", port: 3)])
        #expect(fromFlags.hostname == "from-flag")
        #expect(fromFlags.tls == nil, "--no-tls turns TLS off despite the pin")
    }

    @Test("configuration faults are clear errors", arguments: [
        (#"{"servers":"a:1"}"#, "servers has the wrong type"),
        (#"{"servers":["a:1"],"ca_fingerprint":"sha256:12"}"#, "invalid CA fingerprint \"sha256:12\""),
        (#"{"servers":["a:1"],"tls":true}"#, "TLS is on but no CA is configured"),
        (#"{"servers":["a:1"],"ca_fingerprint":"\#(AgentSettingsLoadingTests.pin)","tls_min_version":"1.1"}"#, "invalid TLS minimum version \"1.1\""),
        (#"{"servers":["a:1"],"key_file":"missing.key"}"#, "cannot read key file"),
        ("not json", "is not valid JSON"),
    ])
    func faults(json: String, message: String) throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.write(json, in: directory)
        var options = AgentOptions()
        options.configDirectory = directory
        do {
            _ = try Self.load(options)
            Issue.record("\(json) was accepted")
        } catch let error as AgentConfigurationError {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }

    @Test("an explicit configuration directory without agent.json says to enroll")
    func missingExplicitDirectory() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = AgentOptions()
        options.configDirectory = directory
        #expect(throws: AgentConfigurationError("no agent.json in \(directory): enroll first (vigil-agent enroll TOKEN --config-dir \(directory))")) {
            try Self.load(options)
        }
    }

    @Test("flag checks moved from the executable keep their messages")
    func flagChecks() throws {
        var options = AgentOptions()
        options.metricsInterval = "-1"
        #expect(throws: AgentConfigurationError("--metrics-interval must not be negative (0 turns metrics off), got -1")) { try Self.load(options) }
        options.metricsInterval = "0"
        #expect(try Self.load(options).metricsInterval == .zero)
        options.backoffMax = 0
        #expect(throws: AgentConfigurationError("--backoff-max must be between 0.001 and 86400 seconds")) { try Self.load(options) }
        var servers = AgentOptions()
        servers.servers = ["a:99999"]
        #expect(throws: AgentConfigurationError("invalid --server \"a:99999\": expected host:port")) { try Self.load(servers) }
    }

    @Test("the default directory's agent.json is used only when no server is named")
    func defaultDirectoryOnlyWithoutServers() throws {
        let home = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try FileManager.default.createDirectory(atPath: home + "/.config/vigil", withIntermediateDirectories: true)
        try Self.write(#"{"servers":["enrolled:7000"],"ca_fingerprint":"\#(Self.pin)"}"#, in: home + "/.config/vigil")
        let enrolled = try AgentSettings.load(options: AgentOptions(), environment: ["HOME": home], defaultHostname: "m")
        #expect(enrolled.servers == [ServerAddress(host: "enrolled", port: 7000)])
        #expect(enrolled.tls != nil)
        var options = AgentOptions()
        options.servers = ["127.0.0.1:5001"]
        let scripted = try AgentSettings.load(options: options, environment: ["HOME": home], defaultHostname: "m")
        #expect(scripted.tls == nil, "an agent given --server ignores the machine's enrollment")
        let fromVariable = try AgentSettings.load(options: AgentOptions(), environment: ["HOME": home, "VIGIL_SERVERS": "a:1"], defaultHostname: "m")
        #expect(fromVariable.tls == nil)
    }

    @Test("the default directory: /etc/vigil for root, else XDG_CONFIG_HOME or ~/.config")
    func defaultDirectory() {
        #expect(AgentConfigFile.defaultDirectory(environment: [:], isRoot: true) == "/etc/vigil")
        #expect(AgentConfigFile.defaultDirectory(environment: ["HOME": "/home/ann"], isRoot: false) == "/home/ann/.config/vigil")
        #expect(AgentConfigFile.defaultDirectory(environment: ["HOME": "/home/ann", "XDG_CONFIG_HOME": "/x"], isRoot: false) == "/x/vigil")
    }
}
