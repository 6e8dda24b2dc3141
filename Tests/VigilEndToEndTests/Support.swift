import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Where `swift build` put the executables: next to this test bundle.
enum Binaries {
    static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["VIGIL_BIN_DIR"] { return URL(fileURLWithPath: override) }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathExtension != "xctest" && url.path != "/" { url.deleteLastPathComponent() }
        return url.deletingLastPathComponent()
    }

    static func path(_ name: String) throws -> String {
        let path = self.directory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw E2EError("\(path) is missing: run `swift build` before `swift test` (the README's test command does)")
        }
        return path
    }
}

struct E2EError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A child process with its output in files, killed when the test ends.
final class Child: @unchecked Sendable {
    let process = Process()
    let name: String
    let log: URL

    init(_ executable: String, _ arguments: [String], name: String, directory: URL, environment: [String: String] = [:]) throws {
        self.name = name
        self.log = directory.appendingPathComponent("\(name).log")
        FileManager.default.createFile(atPath: self.log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: self.log)
        self.process.executableURL = URL(fileURLWithPath: executable)
        self.process.arguments = arguments
        self.process.standardOutput = handle
        self.process.standardError = handle
        // Every `vigil server`/`vigil up` a test starts gets the known first admin (see E2EAuth).
        var defaults = (executable.hasSuffix("/vigil") && ["server", "up"].contains(arguments.first ?? "")) ? E2EAuth.serverEnvironment : [:]
        // Every `vigil-agent` spools (issue 15 §3) into the test's directory, one spool each,
        // never into the default under the user's configuration directory.
        if executable.hasSuffix("/vigil-agent"), arguments.first != "enroll" {
            defaults["VIGIL_SPOOL_DIR"] = directory.appendingPathComponent("\(name)-spool").path
        }
        // An empty value given for one of those defaults removes it (a server with no preset admin password).
        self.process.environment = ProcessInfo.processInfo.environment.merging(defaults) { $1 }.merging(environment) { $1 }
            .filter { !($0.value.isEmpty && defaults[$0.key] != nil) }
        try self.process.run()
    }

    var pid: Int32 { self.process.processIdentifier }

    func signal(_ number: Int32) { kill(self.pid, number) }

    /// Waits for exit and returns the status, or `nil` if it is still running after `timeout`.
    func waitForExit(timeout: Duration = .seconds(10)) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while self.process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
        return self.process.terminationStatus
    }

    var output: String { (try? String(contentsOf: self.log, encoding: .utf8)) ?? "" }

    func stop() {
        if self.process.isRunning {
            kill(self.pid, SIGCONT)
            kill(self.pid, SIGKILL)
            self.process.waitUntilExit()
        }
    }
}

/// Runs a command to completion and returns (status, stdout). `environment` is added to this process's.
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
    let process = Process()
    let pipe = Pipe()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The base64 SHA-256 of a certificate's SubjectPublicKeyInfo (what Chromium's
/// `--ignore-certificate-errors-spki-list` and HPKP-style pins name), by openssl.
func spkiHash(ofCertificateIn file: String) throws -> String {
    let (status, output) = try run("/bin/sh", ["-c", "openssl x509 -in '\(file)' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64"])
    let hash = output.trimmingCharacters(in: .whitespacesAndNewlines)
    guard status == 0, hash.count == 44 else { throw E2EError("cannot hash the public key of \(file): \(output)") }
    return hash
}

/// Runs a command to completion; returns its status and its standard output and error together.
func runCapturingSync(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
    let process = Process()
    let pipe = Pipe()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The first admin of every server the end-to-end tests start (`Child` sets the environment).
enum E2EAuth {
    static let adminName = "admin"
    static let adminPassword = "e2e-admin-password"
    static let serverEnvironment = [
        "VIGIL_AUTH_INITIAL_ADMIN_PASSWORD": adminPassword,
        "VIGIL_AUTH_BCRYPT_COST": "4",  // the cheapest: tests sign in often
    ]

    /// Signs in as `name` and returns the access token.
    static func accessToken(port: Int, name: String = adminName, password: String = adminPassword) async throws -> String {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/auth/login")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["username": name, "password": password])
        let (data, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200,
              let token = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["access_token"] as? String
        else { throw E2EError("sign-in as \(name) on port \(port) failed: \(String(decoding: data, as: UTF8.self))") }
        return token
    }
}

/// Minimal JSON access over the HTTP API, signed in as the first admin (on first use).
struct API {
    let port: Int
    private let token = TokenBox()

    init(port: Int) { self.port = port }

    /// The access token, shared by copies of this API value.
    final class TokenBox: @unchecked Sendable {
        private let lock = NSLock()
        private var value: String?
        func get() -> String? { self.lock.withLock { self.value } }
        func set(_ token: String?) { self.lock.withLock { self.value = token } }
    }

    /// The admin's access token (signing in when there is none yet).
    func accessToken() async throws -> String {
        if let token = self.token.get() { return token }
        let token = try await E2EAuth.accessToken(port: self.port)
        self.token.set(token)
        return token
    }

    /// A request with the admin's bearer token; returns the body and the status.
    func request(_ method: String, _ path: String, body: Data? = nil) async throws -> (Data, Int) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(self.port)\(path)")!)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        request.setValue("Bearer \(try await self.accessToken())", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        if status == 401 { self.token.set(nil) }  // a restarted server or an expired token: sign in again next time
        return (data, status)
    }

    func get(_ path: String) async throws -> Any {
        let (data, _) = try await self.request("GET", path)
        return try JSONSerialization.jsonObject(with: data)
    }

    struct Event {
        var id: Int
        var hostname: String
        var to: String
        var at: Date
    }

    /// Liveness events, oldest first.
    func events() async throws -> [Event] {
        let list = try await self.get("/api/events?limit=1000") as? [[String: Any]] ?? []
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        return list.compactMap { item in
            guard let id = item["id"] as? Int, let host = item["hostname"] as? String, let to = item["to"] as? String,
                  let atText = item["at"] as? String, let at = format.date(from: atText) ?? plain.date(from: atText) else { return nil }
            return Event(id: id, hostname: host, to: to, at: at)
        }.reversed()
    }

    func state(of host: String) async throws -> String? {
        let agents = try await self.get("/api/agents") as? [[String: Any]] ?? []
        return agents.first { $0["hostname"] as? String == host }?["state"] as? String
    }
}

/// Polls until `condition` returns a value, failing after `timeout`.
func waitFor<T>(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = try? await condition() { return value }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw E2EError("timed out after \(timeout) waiting for \(what)")
}
