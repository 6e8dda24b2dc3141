import Foundation
import Testing

/// The data directory holds the token-signing secret and live session ids: only the server's user
/// may read it, and only one server may use it at a time (issue 12, defects 3 and 5).
@Suite("Data directory: private files and one server at a time (real binaries)", .serialized)
struct DataDirectoryEndToEndTests {
    /// A scratch directory (mode 0755, as `mkdir` makes it) holding logs, ready files and the data directory.
    static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-datadir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return directory
    }

    /// Starts `vigil server` on `data` with ephemeral ports (not waiting for it).
    static func server(_ vigil: String, data: URL, in directory: URL, name: String = "server") throws -> (Child, URL) {
        let ready = directory.appendingPathComponent("\(name)-ready.json")
        let child = try Child(vigil, [
            "server", "--data-dir", data.path, "--agent-port", "0", "--http-port", "0",
            "--heartbeat-interval", "1s", "--ready-file", ready.path,
        ], name: "\(name)-\(UUID().uuidString.prefix(4))", directory: directory)
        return (child, ready)
    }

    /// The HTTP port from a ready file, once it is written.
    static func httpPort(_ ready: URL, timeout: Duration = .seconds(30)) async throws -> Int {
        try await waitFor("the ready file \(ready.lastPathComponent)", timeout: timeout) { () -> Int? in
            (try JSONSerialization.jsonObject(with: Data(contentsOf: ready)) as? [String: Int])?["http_port"]
        }
    }

    static func mode(_ url: URL) throws -> Int {
        var info = stat()
        guard lstat(url.path, &info) == 0 else { throw E2EError("stat \(url.path): \(String(cString: strerror(errno)))") }
        return Int(info.st_mode & 0o7777)
    }

    @Test("a fresh server (started with umask 022) creates every file 0600 and every directory 0700")
    func freshServerFilesArePrivate() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let vigil = try Binaries.path("vigil")
        let data = directory.appendingPathComponent("data")
        let previous = umask(0o022)  // what a login shell or a service manager commonly gives
        let (server, ready) = try Self.server(vigil, data: data, in: directory)
        umask(previous)
        defer { server.stop() }
        let port = try await Self.httpPort(ready)
        // A session and a key exist, so the database and its WAL hold secrets now.
        _ = try await E2EAuth.accessToken(port: port)
        let (created, _) = try run(vigil, ["keys", "create", "--key-only", "--host", "private-1", "--data-dir", data.path])
        #expect(created == 0)

        #expect(try Self.mode(data) == 0o700)
        let names = try FileManager.default.subpathsOfDirectory(atPath: data.path)
        #expect(names.contains("vigil.sqlite"))
        #expect(names.contains("vigil.sqlite-wal"))
        #expect(names.contains("metrics.sqlite"))
        for name in names {
            let url = data.appendingPathComponent(name)
            let isDirectory = (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false
            #expect(try Self.mode(url) == (isDirectory ? 0o700 : 0o600), "\(name)")
        }
    }

    @Test("a data directory that others can read (mkdir's 0755) is refused with the chmod to run")
    func openDirectoryRefused() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let vigil = try Binaries.path("vigil")
        let data = directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        let (server, _) = try Self.server(vigil, data: data, in: directory)
        defer { server.stop() }
        let status = try await server.waitForExit(timeout: .seconds(30))
        #expect(status != nil && status != 0, "the server must refuse to start:\n\(server.output)")
        #expect(server.output.contains("chmod 700 \(data.path)"), "\(server.output)")
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("vigil.sqlite").path), "nothing is written into it")
    }

    @Test("a secret-bearing file that others can read (vigil.sqlite 0644) is refused, by the server and by vigil keys")
    func readableSecretFileRefused() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let vigil = try Binaries.path("vigil")
        let data = directory.appendingPathComponent("data")
        let (first, ready) = try Self.server(vigil, data: data, in: directory, name: "first")
        _ = try await Self.httpPort(ready)
        first.signal(SIGTERM)
        #expect(try await first.waitForExit(timeout: .seconds(30)) == 0)
        let database = data.appendingPathComponent("vigil.sqlite")
        #expect(chmod(database.path, 0o644) == 0)

        let (second, _) = try Self.server(vigil, data: data, in: directory, name: "second")
        defer { second.stop() }
        let status = try await second.waitForExit(timeout: .seconds(30))
        #expect(status != nil && status != 0, "the server must refuse to start:\n\(second.output)")
        #expect(second.output.contains("chmod 600 \(database.path)"), "\(second.output)")

        let keys = try Child(vigil, ["keys", "list", "--data-dir", data.path], name: "keys", directory: directory)
        defer { keys.stop() }
        let keysStatus = try await keys.waitForExit(timeout: .seconds(30))
        #expect(keysStatus != nil && keysStatus != 0, "\(keys.output)")
        #expect(keys.output.contains("chmod 600 \(database.path)"), "\(keys.output)")
    }

    @Test("a second server on the same data directory is refused naming the first's PID; vigil keys works beside it; a kill -9 frees the lock")
    func oneServerPerDataDirectory() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let vigil = try Binaries.path("vigil")
        let data = directory.appendingPathComponent("data")
        let (first, firstReady) = try Self.server(vigil, data: data, in: directory, name: "first")
        defer { first.stop() }
        _ = try await Self.httpPort(firstReady)

        let (second, _) = try Self.server(vigil, data: data, in: directory, name: "second")
        defer { second.stop() }
        let status = try await second.waitForExit(timeout: .seconds(30))
        #expect(status != nil && status != 0, "the second server must refuse to start:\n\(second.output)")
        #expect(second.output.contains("pid \(first.pid)"), "\(second.output)")

        // The people's tools work on the database beside the running server.
        let (created, token) = try run(vigil, ["keys", "create", "--key-only", "--host", "beside-1", "--data-dir", data.path])
        #expect(created == 0)
        #expect(token.hasPrefix("vk_"))
        let (listed, list) = try run(vigil, ["keys", "list", "--data-dir", data.path])
        #expect(listed == 0)
        #expect(list.contains("beside-1"))

        // A killed server holds nothing: the next one starts.
        first.stop()
        let (third, thirdReady) = try Self.server(vigil, data: data, in: directory, name: "third")
        defer { third.stop() }
        let port = try await Self.httpPort(thirdReady)
        #expect(port > 0)
        #expect(third.process.isRunning)
    }
}
