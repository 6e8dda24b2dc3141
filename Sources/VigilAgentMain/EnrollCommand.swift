import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import VigilAgent
import VigilConnection
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `vigil-agent enroll TOKEN`: writes the agent's configuration (servers, key file, CA pin) from an
/// enrollment token that `vigil keys create --host NAME` printed.
struct EnrollCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Write this host's agent configuration from an enrollment token.",
        discussion: """
        Writes agent.json and agent.key (mode 0600) in the configuration directory (--config-dir; \
        default /etc/vigil for root, else ~/.config/vigil; also VIGIL_CONFIG_DIR), created 0700: \
        the token's servers, its key and the fingerprint of the server's CA, and the host name (--hostname, else the token's). Then `vigil-agent` \
        (with the same --config-dir, if one was given) connects over TLS and refuses any server \
        whose certificate chain does not contain that CA.

        Exit codes: 0 enrolled; 64 a malformed token, or the host is enrolled already (use --force); \
        73 the files could not be written.
        """
    )

    @Argument(help: "The enrollment token (vigil1....).")
    var token: String

    /// `--config-dir` and `--hostname` are the agent's own options (the parser binds them to it even
    /// after `enroll`), read from there.
    @ParentCommand var agent: AgentCommand

    @Flag(help: "Replace an existing configuration.")
    var force = false

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let directory = self.agent.configDir ?? environment["VIGIL_CONFIG_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? AgentConfigFile.defaultDirectory(environment: environment, isRoot: geteuid() == 0)
        // The token is read before anything is written: a malformed one leaves the directory untouched.
        let token: EnrollmentToken
        do {
            token = try EnrollmentToken(parsing: self.token)
        } catch {
            throw ValidationError("invalid enrollment token: \(error)")
        }
        if !self.force, FileManager.default.fileExists(atPath: directory + "/" + AgentConfigFile.fileName) {
            throw ValidationError("\(directory)/\(AgentConfigFile.fileName) exists: this host is enrolled already (use --force to replace it)")
        }
        let result: AgentEnrollment.Result
        do {
            result = try AgentEnrollment.enroll(token: token, directory: directory, hostname: self.agent.hostname, force: self.force)
        } catch {
            var standardError = StandardError()
            print("vigil-agent enroll: \(error.description)", to: &standardError)
            throw ExitCode(73)
        }
        let servers = token.servers.map(\.description).joined(separator: ", ")
        print("""
            enrolled: \(result.configFile) (servers \(servers), CA \(token.caFingerprint))
            key stored in \(result.keyFile)
            start the agent with: vigil-agent\(self.agent.configDir.map { " --config-dir \($0)" } ?? "")
            """)
    }
}
