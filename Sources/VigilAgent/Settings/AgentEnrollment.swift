import Foundation
import VigilConnection
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `vigil-agent enroll TOKEN`: turns an enrollment token into the agent's configuration directory,
/// so that a plain `vigil-agent` (or `--config-dir DIR`) runs registered, over TLS, with the
/// server's CA pinned.
///
/// Writes `agent.key` (the key alone) and `agent.json` (``AgentConfigFile``: servers, key file,
/// host name, `tls: true`, the CA fingerprint), each 0600, in a directory created 0700. Each file
/// is written to a temporary name and renamed, the key first: a directory holding `agent.json`
/// is always complete.
public enum AgentEnrollment {
    /// What ``enroll(token:directory:hostname:force:)`` did.
    public struct Result: Sendable, Equatable {
        public var configFile: String
        public var keyFile: String
        public var configuration: AgentConfigFile
    }

    /// - Parameters:
    ///   - hostname: The name to report; the token's host when `nil` (and neither: the machine's, at run time).
    ///   - force: Replace an existing configuration; without it an existing `agent.json` is an error.
    /// - Throws: ``AgentConfigurationError`` for a malformed token (nothing is written) or a
    ///   directory that cannot be written.
    public static func enroll(tokenText: String, directory: String, hostname: String? = nil, force: Bool = false) throws(AgentConfigurationError) -> Result {
        let token: EnrollmentToken
        do {
            token = try EnrollmentToken(parsing: tokenText)
        } catch {
            throw AgentConfigurationError("invalid enrollment token: \(error)")
        }
        return try self.enroll(token: token, directory: directory, hostname: hostname, force: force)
    }

    public static func enroll(token: EnrollmentToken, directory: String, hostname: String? = nil, force: Bool = false) throws(AgentConfigurationError) -> Result {
        let configPath = directory + "/" + AgentConfigFile.fileName
        let keyPath = directory + "/" + AgentConfigFile.keyFileName
        if !force, FileManager.default.fileExists(atPath: configPath) {
            throw AgentConfigurationError("\(configPath) exists: this host is enrolled already (use --force to replace it)")
        }
        let configuration = AgentConfigFile(
            servers: token.servers.map(\.description), keyFile: keyPath, hostname: hostname ?? token.host,
            tls: true, caFingerprint: token.caFingerprint.description
        )
        do {
            try self.makeDirectory(directory)
            try self.writeSecret(Data((token.key + "\n").utf8), to: keyPath)
            try self.writeSecret(try configuration.encoded(), to: configPath)
        } catch let error as AgentConfigurationError {
            throw error
        } catch {
            throw AgentConfigurationError("cannot write the configuration in \(directory): \(error)")
        }
        return Result(configFile: configPath, keyFile: keyPath, configuration: configuration)
    }

    /// Whether an existing configuration already holds this token's servers, key and pin (so
    /// `vigil-agent --token TOKEN` can be started again and again).
    public static func matches(_ token: EnrollmentToken, directory: String) -> Bool {
        guard let config = try? AgentConfigFile.load(directory: directory),
              let keyFile = config.keyFile,
              let key = FileManager.default.contents(atPath: keyFile.hasPrefix("/") ? keyFile : directory + "/" + keyFile)
        else { return false }
        return String(decoding: key, as: UTF8.self).trimmedOfWhitespace == token.key
            && config.servers == token.servers.map(\.description)
            && config.caFingerprint.flatMap(CertificateFingerprint.init(parsing:)) == token.caFingerprint
    }

    /// Creates the directory (and missing parents) with mode 0700; an existing one is kept as it is.
    private static func makeDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw AgentConfigurationError("\(path) is not a directory") }
            return
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // The umask may have narrowed it further; never wider than 0700.
        chmod(path, 0o700)
    }

    /// Writes `data` to `path` with mode 0600: a temporary file in the same directory, synced, then renamed.
    private static func writeSecret(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw AgentConfigurationError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var failure: String?
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += written
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = String(cString: strerror(errno)) }
        close(descriptor)
        if let failure {
            unlink(temporary)
            throw AgentConfigurationError("cannot write \(temporary): \(failure)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw AgentConfigurationError("cannot rename \(temporary) to \(path): \(reason)")
        }
    }
}
