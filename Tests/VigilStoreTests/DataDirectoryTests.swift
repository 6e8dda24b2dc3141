import Foundation
import Testing
@testable import VigilStore

/// The data directory's privacy and lock as units (the end-to-end suite runs them through `vigil`).
@Suite("DataDirectory: private files, refusals, the lock")
struct DataDirectoryTests {
    static func mode(_ path: String) -> Int {
        var info = stat()
        return lstat(path, &info) == 0 ? Int(info.st_mode & 0o7777) : -1
    }

    @Test("the stores' database files and their WAL are 0600 even under umask 022")
    func storeFilesPrivateWhateverTheUmask() async throws {
        try await withTemporaryDirectory { directory in
            let previous = umask(0o022)
            defer { umask(previous) }
            let store = try SQLiteStore(directory: directory)
            _ = try await store.createKey(hostname: "h1")
            let history = try SQLiteMetricsStore(directory: directory)
            for name in ["vigil.sqlite", "vigil.sqlite-wal", "vigil.sqlite-shm", "metrics.sqlite", "metrics.sqlite-wal"] {
                #expect(Self.mode(directory.appendingPathComponent(name).path) == 0o600, "\(name)")
            }
            _ = history
        }
    }

    @Test("prepare refuses a directory others can read, and a private file others can read, naming the chmod")
    func prepareRefuses() async throws {
        try await withTemporaryDirectory { directory in
            try DataDirectory.prepare(directory)
            #expect(Self.mode(directory.path) == 0o700)
            chmod(directory.path, 0o755)
            let open = #expect(throws: DataDirectoryError.self) { try DataDirectory.prepare(directory) }
            #expect(open?.description.contains("chmod 700 \(directory.path)") == true, "\(open?.description ?? "")")
            chmod(directory.path, 0o700)
            let key = directory.appendingPathComponent("local-agent.key")
            FileManager.default.createFile(atPath: key.path, contents: Data("x".utf8), attributes: [.posixPermissions: 0o640])
            let readable = #expect(throws: DataDirectoryError.self) { try DataDirectory.prepare(directory) }
            #expect(readable?.description.contains("chmod 600 \(key.path)") == true, "\(readable?.description ?? "")")
            chmod(key.path, 0o600)
            try DataDirectory.prepare(directory)
        }
    }

    @Test("a database symlinked elsewhere is judged by the file it reaches, not by the link's own 0777")
    func symlinkedDatabase() async throws {
        try await withTemporaryDirectory { directory in
            try DataDirectory.prepare(directory)
            let elsewhere = directory.appendingPathComponent("elsewhere")
            try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            let target = elsewhere.appendingPathComponent("vigil.sqlite")
            FileManager.default.createFile(atPath: target.path, contents: Data(), attributes: [.posixPermissions: 0o600])
            try FileManager.default.createSymbolicLink(at: directory.appendingPathComponent("vigil.sqlite"), withDestinationURL: target)
            try DataDirectory.prepare(directory)
            chmod(target.path, 0o644)
            let readable = #expect(throws: DataDirectoryError.self) { try DataDirectory.prepare(directory) }
            #expect(readable?.description.contains("chmod 600") == true, "\(readable?.description ?? "")")
        }
    }

    @Test("a second lock on the directory is refused naming the holder's PID, and taken once the first is released")
    func lockIsExclusive() async throws {
        try await withTemporaryDirectory { directory in
            try DataDirectory.prepare(directory)
            var first: DataDirectoryLock? = try DataDirectoryLock.acquire(in: directory)
            let refused = #expect(throws: DataDirectoryError.self) { try DataDirectoryLock.acquire(in: directory) }
            #expect(refused?.description.contains("pid \(getpid())") == true, "\(refused?.description ?? "")")
            #expect(Self.mode(directory.appendingPathComponent("vigil.lock").path) == 0o600)
            _ = first
            first = nil
            _ = try DataDirectoryLock.acquire(in: directory)
        }
    }
}
