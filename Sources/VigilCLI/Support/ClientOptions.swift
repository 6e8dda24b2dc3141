import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import VigilClient
import VigilConnection

/// Flags shared by the people's tools (`vigil chat`, `vigil send`, `vigil send-file`): where the
/// server is, who we are, and the key that proves it.
struct ClientOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The server's agent port, host:port (also VIGIL_SERVER; default 127.0.0.1:5001, or the token's first server).", valueName: "host:port"))
    var server: String?

    @Option(help: ArgumentHelp("An enrollment token (`vigil keys create`; also VIGIL_ENROLLMENT_TOKEN): the server's address and its CA's fingerprint. Connects with TLS, pinned to that CA.", valueName: "token"))
    var token: String?

    @Option(help: ArgumentHelp("The server's CA certificate, PEM (also VIGIL_CA): connects with TLS, trusting only this CA. Without --ca or --token the connection is plaintext (servers allow that from loopback only).", valueName: "file"))
    var ca: String?

    @Option(help: ArgumentHelp("The oldest TLS version accepted: 1.3 (default) or 1.2.", valueName: "version"))
    var tlsMinVersion: String?

    @Option(help: "The name to register as (also VIGIL_NAME; default: $USER). Letters, digits, '.', '-' and '_'.")
    var name: String?

    @Option(help: "An agent key bound to the name (`vigil keys create --host NAME`). Prefer --key-file or VIGIL_KEY: command lines are visible to every user. Without a key the server must run with open enrollment.")
    var key: String?

    @Option(help: "A file holding the key (also VIGIL_KEY_FILE).")
    var keyFile: String?

    @Option(help: "Diagnostics on standard error: trace, debug, info, notice, warning (default), error.")
    var logLevel: String?

    @OptionGroup var discovery: DiscoveryOptions

    /// The connection settings from the flags, then the environment, then the defaults; with
    /// `--discover`, the server is the one the cluster's discovery announces.
    func settings(clientVersion: String, capabilities: [String]) async throws -> ClientSettings {
        let environment = ProcessInfo.processInfo.environment
        let token = try (self.token ?? environment["VIGIL_ENROLLMENT_TOKEN"]).map { text in
            do {
                return try EnrollmentToken(parsing: text)
            } catch {
                throw ValidationError("invalid --token: \(error)")
            }
        }
        let name = self.name ?? environment["VIGIL_NAME"] ?? environment["USER"] ?? ""
        guard !name.isEmpty else { throw ValidationError("no name: use --name NAME or VIGIL_NAME") }
        guard name.utf8.count <= 253, name.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
            throw ValidationError("--name must be 1-253 characters of letters, digits, '.', '-' and '_'")
        }
        let address: ServerAddress
        if self.discovery.discover {
            guard self.server == nil else { throw ValidationError("--discover and --server exclude each other") }
            address = try await self.discovery.discoverServer(name: name)
        } else {
            let serverText = self.server ?? environment["VIGIL_SERVER"] ?? token?.servers.first?.description ?? "127.0.0.1:5001"
            guard let parsed = ServerAddress(parsing: serverText) else {
                throw ValidationError("invalid --server \"\(serverText)\": expected host:port")
            }
            address = parsed
        }
        var settings = ClientSettings(host: address.host, port: address.port, name: name, key: try self.resolveKey(environment))
        settings.tls = try self.tls(token: token, environment: environment)
        settings.clientVersion = clientVersion
        settings.capabilities = capabilities
        return settings
    }

    /// The log level for diagnostics (warning unless asked).
    func logger(label: String) throws -> Logger {
        let text = self.logLevel ?? ProcessInfo.processInfo.environment["VIGIL_LOG_LEVEL"] ?? "warning"
        guard let level = Logger.Level(rawValue: text.lowercased()) else { throw ValidationError("invalid --log-level \"\(text)\"") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }

    /// TLS when a CA file or a token is given (the file wins: it can verify a chain without the CA).
    private func tls(token: EnrollmentToken?, environment: [String: String]) throws -> ClientTLS? {
        let minimum: ClientTLS.MinimumVersion
        switch self.tlsMinVersion {
        case nil: minimum = .tls13
        case let text?:
            guard let version = ClientTLS.MinimumVersion(rawValue: text) else { throw ValidationError("invalid --tls-min-version \"\(text)\": expected 1.2 or 1.3") }
            minimum = version
        }
        if let path = self.ca ?? environment["VIGIL_CA"].flatMap({ $0.isEmpty ? nil : $0 }) {
            do {
                return ClientTLS(trust: try TLSTrust.caFile(path), minimumVersion: minimum)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        return token.map { ClientTLS(trust: .pinned($0.caFingerprint), minimumVersion: minimum) }
    }

    private func resolveKey(_ environment: [String: String]) throws -> String? {
        // Flags first, then the environment; within each, the key before the key file.
        let path: String
        if let key = self.key {
            return key
        } else if let file = self.keyFile {
            path = file
        } else if let key = environment["VIGIL_KEY"], !key.isEmpty {
            return key
        } else if let file = environment["VIGIL_KEY_FILE"], !file.isEmpty {
            path = file
        } else {
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read key file \(path)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}

/// Exit statuses shared by the people's tools (documented in their help).
enum ClientExitCode {
    /// The server refused the message or a file.
    static let refused: Int32 = 1
    /// The server could not be reached, or did not answer in time.
    static let unreachable: Int32 = 2
    /// The server refused the key or the name; retrying cannot help.
    static let keyRefused: Int32 = 77
}

/// Writes text to a file descriptor at once (no buffering: a chat's lines must not wait in a buffer).
enum Output {
    static func standardOutput(_ text: String) { self.emit(text, to: 1) }
    static func standardError(_ text: String) { self.emit(text, to: 2) }

    static func emit(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    static func isTerminal(_ descriptor: Int32) -> Bool { isatty(descriptor) == 1 }

    /// The terminal's width in columns, or 80.
    static func columns(_ descriptor: Int32) -> Int {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}
