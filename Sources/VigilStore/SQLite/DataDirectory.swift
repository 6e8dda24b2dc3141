#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import Foundation

/// The data directory's privacy: it holds the token-signing secret (in `vigil.sqlite`), live session
/// ids and every agent key's digest, so only the server's user may read anything in it.
///
/// The server does not fix modes itself: an open directory may mean the operator meant to share it
/// (or another tool made it so), so it refuses to start and says which `chmod` to run.
public enum DataDirectory {
    /// Files whose contents let a reader act as a user or an agent (the signing secret, sessions,
    /// key digests) or read the fleet's history, with SQLite's companions.
    public static let privateFiles = [
        "vigil.sqlite", "vigil.sqlite-wal", "vigil.sqlite-shm",
        "metrics.sqlite", "metrics.sqlite-wal", "metrics.sqlite-shm",
        "local-agent.key",
        // The TLS private keys (VigilServer's TLSFiles).
        "tls/ca-key.pem", "tls/server-key.pem",
    ]

    /// Creates the directory (mode 0700) when it is missing; otherwise checks that neither it nor a
    /// private file in it is open to the group or to others.
    ///
    /// - Throws: ``DataDirectoryError`` naming the `chmod` to run.
    public static func prepare(_ directory: URL) throws {
        let path = directory.path
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else { throw DataDirectoryError("cannot read data directory \(path): \(String(cString: strerror(errno)))") }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            return
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw DataDirectoryError("data directory \(path) is not a directory") }
        let mode = info.st_mode & 0o7777
        if mode & 0o077 != 0 {
            throw DataDirectoryError("""
                data directory \(path) is open to other users (mode \(octal(mode))); it holds the token-signing \
                secret and session ids, so the server will not use it. Run: chmod 700 \(shellQuoted(path))
                """)
        }
        let open = Self.privateFiles.map { directory.appendingPathComponent($0).path }.filter { file in
            // `stat`, not `lstat`: a symlinked database (on another disk, say) is judged by the
            // file it reaches; a link's own mode is always 0777 and no chmod could change it.
            var info = stat()
            return stat(file, &info) == 0 && info.st_mode & 0o077 != 0
        }
        if !open.isEmpty {
            throw DataDirectoryError("""
                \(open.joined(separator: ", ")) \(open.count == 1 ? "is" : "are") open to other users; the data directory's \
                files hold the token-signing secret and session ids, so the server will not use them. \
                Run: chmod 600 \(open.map(shellQuoted).joined(separator: " "))
                """)
        }
    }

    /// Creates `path` empty with mode 0600 unless it exists. A database file made this way before
    /// SQLite opens it keeps the secret private whatever the process's umask: SQLite gives the
    /// `-wal` and `-shm` files the mode of the database.
    public static func createPrivateFile(atPath path: String) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw DataDirectoryError("cannot create \(path): \(String(cString: strerror(errno)))") }
        close(descriptor)
    }

    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// `path` as a shell word: plain when it is safe to paste, else single-quoted.
    static func shellQuoted(_ path: String) -> String {
        let safe = path.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "/._-+,:@%".unicodeScalars.contains($0) }
        return safe ? path : "'" + path.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
