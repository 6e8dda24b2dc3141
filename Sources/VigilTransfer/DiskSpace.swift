#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Free space on a file system.
public enum DiskSpace {
    /// Bytes an unprivileged process may still write on the file system holding `path` (statvfs
    /// `f_bavail × f_frsize`). Blocking but quick: fine on a thread pool, avoid on an event loop.
    ///
    /// - Parameter path: Any existing path on the file system (a missing one: its nearest existing parent).
    public static func available(at path: String) throws(TransferError) -> UInt64 {
        var candidate = path
        while !POSIX.exists(candidate), candidate != "/", !candidate.isEmpty {
            candidate = POSIX.parent(of: candidate)
        }
        var info = statvfs()
        guard statvfs(candidate, &info) == 0 else { throw .io("cannot read free space of", candidate, errno: errno) }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }
}
