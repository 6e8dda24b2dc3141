#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import Foundation

/// One server per data directory: an exclusive `flock` on `<data_dir>/vigil.lock`, holding the
/// owner's PID, for the life of the process.
///
/// Two servers on one database each keep their own pending samples, liveness and mailboxes and
/// lose each other's writes. The kernel drops the lock when the process exits in any way (kill -9
/// included), so a stale lock file never blocks a start; the PID in it only names the holder.
/// `vigil keys` and `vigil users` take no lock: they change single rows through SQLite's own
/// locking, which the server re-reads, and hold no state that a running server would overwrite.
public final class DataDirectoryLock: Sendable {
    public static let fileName = "vigil.lock"

    private let descriptor: Int32
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit {
        close(self.descriptor)  // releases the lock
    }

    /// Takes the lock or says who holds it.
    ///
    /// - Throws: ``DataDirectoryError`` naming the PID of the process that holds the lock.
    public static func acquire(in directory: URL) throws -> DataDirectoryLock {
        let path = directory.appendingPathComponent(Self.fileName).path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw DataDirectoryError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            defer { close(descriptor) }
            guard failure == EWOULDBLOCK else { throw DataDirectoryError("cannot lock \(path): \(String(cString: strerror(failure)))") }
            let holder = Self.holder(descriptor)
            throw DataDirectoryError("""
                data directory \(directory.path) is in use by another Vigil server (pid \(holder.map(String.init) ?? "unknown"), \
                holding \(path)); stop it first, or give this server another data_dir
                """)
        }
        let text = Array("\(getpid())\n".utf8)
        guard ftruncate(descriptor, 0) == 0, text.withUnsafeBytes({ pwrite(descriptor, $0.baseAddress, $0.count, 0) }) == text.count else {
            let failure = errno
            close(descriptor)
            throw DataDirectoryError("cannot write \(path): \(String(cString: strerror(failure)))")
        }
        return DataDirectoryLock(descriptor: descriptor, path: path)
    }

    /// The PID of the server that holds the directory's lock now, or nil when none runs (for
    /// commands that tell it to reload, such as `vigil tls rotate`).
    public static func runningServer(in directory: URL) -> Int32? {
        let path = directory.appendingPathComponent(Self.fileName).path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        // A shared lock is granted only while no server holds the exclusive one.
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 {
            flock(descriptor, LOCK_UN)
            return nil
        }
        return errno == EWOULDBLOCK ? Self.holder(descriptor) : nil
    }

    /// The PID the holder wrote. It writes it just after locking, so a start racing another may
    /// find the file empty for a moment: look again briefly.
    private static func holder(_ descriptor: Int32) -> Int32? {
        for _ in 0..<50 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0, let pid = Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) {
                return pid
            }
            usleep(20_000)
        }
        return nil
    }
}
