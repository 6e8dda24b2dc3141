import Foundation

/// `agent.json` in the agent's configuration directory: what `vigil-agent enroll TOKEN` writes
/// and what `vigil-agent` reads when started without flags. Flags and environment variables win
/// over it, field by field.
///
/// ```json
/// {
///   "servers": ["vigil.example.com:5001"],
///   "key_file": "/etc/vigil/agent.key",
///   "hostname": "web1",
///   "tls": true,
///   "ca_fingerprint": "sha256:3f1c…",
///   "ca_file": "/etc/vigil/ca.pem",
///   "tls_min_version": "1.3",
///   "spool": {"max_bytes": "64MiB", "max_age": "24h", "replay_rate": 50}
/// }
/// ```
/// Every field is optional. `tls` defaults to on when `ca_fingerprint` or `ca_file` is set.
public struct AgentConfigFile: Codable, Sendable, Equatable {
    public static let fileName = "agent.json"
    public static let keyFileName = "agent.key"
    /// The largest configuration file read, in bytes.
    public static let maxFileSize = 64 << 10

    public var servers: [String]?
    /// The file holding the agent key (0600).
    public var keyFile: String?
    public var hostname: String?
    public var tls: Bool?
    public var caFingerprint: String?
    public var caFile: String?
    public var tlsMinVersion: String?
    /// The metrics spool (``Spool``).
    public var spool: Spool?

    public init(servers: [String]? = nil, keyFile: String? = nil, hostname: String? = nil, tls: Bool? = nil,
                caFingerprint: String? = nil, caFile: String? = nil, tlsMinVersion: String? = nil) {
        self.servers = servers
        self.keyFile = keyFile
        self.hostname = hostname
        self.tls = tls
        self.caFingerprint = caFingerprint
        self.caFile = caFile
        self.tlsMinVersion = tlsMinVersion
    }

    enum CodingKeys: String, CodingKey {
        case servers, hostname, tls, spool
        case keyFile = "key_file"
        case caFingerprint = "ca_fingerprint"
        case caFile = "ca_file"
        case tlsMinVersion = "tls_min_version"
    }

    /// The default configuration directory: `/etc/vigil` for root, else `$XDG_CONFIG_HOME/vigil`
    /// or `~/.config/vigil`.
    public static func defaultDirectory(environment: [String: String], isRoot: Bool) -> String {
        if isRoot { return "/etc/vigil" }
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return xdg + "/vigil" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.config/vigil"
    }

    /// Reads `directory/agent.json`; `nil` when there is none.
    public static func load(directory: String) throws(AgentConfigurationError) -> AgentConfigFile? {
        let path = directory + "/" + Self.fileName
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentConfigurationError("cannot read \(path)")
        }
        guard data.count <= Self.maxFileSize else { throw AgentConfigurationError("\(path) is larger than \(Self.maxFileSize) bytes") }
        do {
            return try JSONDecoder().decode(AgentConfigFile.self, from: data)
        } catch let DecodingError.typeMismatch(_, context) {
            throw AgentConfigurationError("\(path): \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
        } catch {
            throw AgentConfigurationError("\(path) is not valid JSON for the agent's configuration")
        }
    }

    /// The file's bytes: pretty, sorted keys, a final newline (people read and edit it).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }
}
