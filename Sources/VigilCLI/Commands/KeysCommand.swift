import ArgumentParser
import Foundation
import Logging
import VigilConnection
import VigilProtocol
import VigilPostgres
import VigilServer
import VigilStore

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke agent keys (works on the data directory; the server may be running).",
        discussion: "Exit codes: 0 success; 1 no such key; 64 bad usage.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key for a host and print its enrollment token once, on standard output (the key is stored only as a digest).",
            discussion: """
            The token (vigil1.…) carries the server address(es) (agents.advertise), the key and the \
            fingerprint of the server's CA: on the host, `vigil-agent enroll TOKEN` does the rest. With \
            --key-only, or with tls.enabled false, only the key (vk_…) is printed.
            """
        )
        @OptionGroup var options: ServerOptions
        @Option(help: "The host the key proves. The key decides the host identity.")
        var host: String
        @Flag(help: "Print only the agent key (vk_…), for `vigil-agent --key-file` and scripts.")
        var keyOnly = false

        func run() async throws {
            guard AgentAuthenticator.isValidHostname(self.host) else {
                throw ValidationError("--host must be \(ClientName.rule)")
            }
            let settings = try await self.options.loadSettings()
            let store = try await self.options.openStore()
            // The CA first: a token that cannot be made must not leave a key nobody saw.
            let fingerprint: CertificateFingerprint?
            do {
                fingerprint = self.keyOnly || !settings.tls.enabled ? nil : try EnrollmentTokenIssuer.caFingerprint(settings: settings)
                if let fingerprint {
                    _ = try EnrollmentTokenIssuer.token(key: "vk_check", host: self.host, caFingerprint: fingerprint, settings: settings)
                }
            } catch {
                FileHandle.standardError.write(Data("vigil keys create: \(error)\n".utf8))
                throw ExitCode(1)
            }
            let issued = try await store.createKey(hostname: self.host)
            guard let fingerprint else {
                FileHandle.standardError.write(Data("created key \(issued.key.id) for host \(self.host); it is shown once:\n".utf8))
                print(issued.token)
                return
            }
            let token = try EnrollmentTokenIssuer.token(key: issued.token, host: self.host, caFingerprint: fingerprint, settings: settings)
            FileHandle.standardError.write(Data("""
                created key \(issued.key.id) for host \(self.host); its enrollment token is shown once (it holds the key).
                On \(self.host): vigil-agent enroll TOKEN   (servers \(token.servers.map(\.description).joined(separator: ", ")), CA \(fingerprint))

                """.utf8))
            print(token.encoded())
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var options: ServerOptions
        @Flag(help: "JSON output.")
        var json = false

        func run() async throws {
            let keys = try await self.options.openStore().listKeys()
            if self.json {
                print(String(decoding: try APICoding.encoder().encode(keys), as: UTF8.self))
                return
            }
            guard !keys.isEmpty else {
                print("no keys; create one with `vigil keys create --host NAME`")
                return
            }
            let format = ISO8601DateFormatter()
            print("ID            HOST                            CREATED               STATUS")
            for key in keys {
                let status = key.revokedAt.map { "revoked \(format.string(from: $0))" } ?? (key.lastUsedAt.map { "active, last used \(format.string(from: $0))" } ?? "active, never used")
                print("\(key.id)  \(key.hostname.padding(toLength: max(30, key.hostname.count), withPad: " ", startingAt: 0))  \(format.string(from: key.createdAt))  \(status)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: new connections with it are refused.")
        @OptionGroup var options: ServerOptions
        @Argument(help: "The key id (the part after vk_, as `vigil keys list` shows it).")
        var id: String

        func run() async throws {
            let id = self.id.hasPrefix(AgentKeyToken.prefix) ? (AgentKeyToken(self.id)?.id ?? self.id) : self.id
            guard let key = try await self.options.openStore().revokeKey(id: id) else {
                FileHandle.standardError.write(Data("no key with id \(id)\n".utf8))
                throw ExitCode(1)
            }
            print("revoked key \(key.id) for host \(key.hostname)")
        }
    }
}

extension ServerOptions {
    func openStore() async throws -> any VigilStore {
        // No lock: beside a running server these change single rows through the database's own
        // locking (the server re-reads keys at each check and users every auth.reload_interval).
        let settings = try await self.loadSettings()
        if settings.storage == .postgres, let postgres = settings.postgres {
            return try await PostgresStore.connect(postgres, logger: Logger(label: "vigil.store"))
        }
        return try SQLiteStore(directory: try self.prepareDataDirectory(settings))
    }
}
