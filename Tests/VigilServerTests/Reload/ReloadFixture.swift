import Foundation
@testable import VigilServer

/// A YAML config file in a temporary directory and the test server loaded from it, which reloads it.
struct ReloadFixture {
    let directory: URL
    var file: URL { self.directory.appendingPathComponent("server.yaml") }
    var data: URL { self.directory.appendingPathComponent("data") }

    init() throws {
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
    }

    func write(_ yaml: String) throws {
        try yaml.write(to: self.file, atomically: true, encoding: .utf8)
    }

    /// The configuration as `vigil server --config FILE` would load it, with the test server's
    /// flags (ports 0, a fast heartbeat, the known admin) and no environment.
    func load() async throws -> LoadedConfiguration {
        try await ServerSettings.loadConfiguration(file: self.file.path, environment: [:], overrides: [
            "data_dir": self.data.path, "agents.port": "0", "http.port": "0", "heartbeat.interval": "1s",
            "auth.initial_admin_name": TestServer.adminName, "auth.initial_admin_password": TestServer.adminPassword,
            "auth.bcrypt_cost": "4",
        ])
    }

    /// Runs `body` against a server started from the file as it is now; cleans up after.
    func withServer(logLevel: LiveLogLevel? = nil, _ body: (TestServer) async throws -> Void) async throws {
        defer { try? FileManager.default.removeItem(at: self.directory) }
        let server = try await TestServer.start(configuration: try await self.load(), logLevel: logLevel)
        do {
            try await body(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
