#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// The few system calls a transfer needs, retried on `EINTR` and turned into ``TransferError``s.
/// Every one blocks: call them only from a thread pool, never on an event loop.
enum POSIX {
    static func describe(errno code: CInt) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }

    /// `open(2)`; returns the descriptor.
    static func open(_ path: String, _ flags: CInt, mode: mode_t = 0o644) throws(TransferError) -> CInt {
        while true {
            let fd = path.withCString { Glibc_open($0, flags | O_CLOEXEC, mode) }
            if fd >= 0 { return fd }
            if errno != EINTR { throw .io("cannot open", path, errno: errno) }
        }
    }

    static func close(_ fd: CInt) {
        #if canImport(Darwin)
        _ = Darwin.close(fd)
        #elseif canImport(Musl)
        _ = Musl.close(fd)
        #else
        _ = Glibc.close(fd)
        #endif
    }

    /// Writes all of `bytes` at `offset`.
    static func pwriteAll(_ fd: CInt, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, path: String) throws(TransferError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io("cannot write", path, errno: errno)
            }
            done += n
        }
    }

    /// Reads up to `count` bytes at `offset` into `buffer` (fewer only at end of file); returns how many.
    @discardableResult
    static func pread(_ fd: CInt, into buffer: inout ByteBuffer, count: Int, at offset: UInt64, path: String) throws(TransferError) -> Int {
        var total = 0
        while total < count {
            var n = 0
            var code: CInt = 0
            let want = count - total
            let position = off_t(offset) + off_t(total)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { raw in
                n = Self.systemPread(fd, raw.baseAddress!, want, position)
                code = errno
                return max(n, 0)
            }
            if n < 0 {
                if code == EINTR { continue }
                throw .io("cannot read", path, errno: code)
            }
            if n == 0 { break }  // end of file
            total += n
        }
        return total
    }

    private static func systemPread(_ fd: CInt, _ pointer: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int {
        #if canImport(Darwin)
        Darwin.pread(fd, pointer, count, offset)
        #elseif canImport(Musl)
        Musl.pread(fd, pointer, count, offset)
        #else
        Glibc.pread(fd, pointer, count, offset)
        #endif
    }

    static func fsync(_ fd: CInt, path: String) throws(TransferError) {
        while true {
            #if canImport(Darwin)
            let result = Darwin.fsync(fd)
            #elseif canImport(Musl)
            let result = Musl.fsync(fd)
            #else
            let result = Glibc.fsync(fd)
            #endif
            if result == 0 { return }
            if errno != EINTR { throw .io("cannot fsync", path, errno: errno) }
        }
    }

    /// Makes a directory's entries (a new, renamed or removed file) durable.
    static func fsyncDirectory(_ path: String) throws(TransferError) {
        let fd = try Self.open(path, O_RDONLY | O_DIRECTORY)
        defer { Self.close(fd) }
        try Self.fsync(fd, path: path)
    }

    static func truncate(_ fd: CInt, to length: UInt64, path: String) throws(TransferError) {
        while ftruncate(fd, off_t(length)) != 0 {
            if errno != EINTR { throw .io("cannot truncate", path, errno: errno) }
        }
    }

    static func size(_ fd: CInt, path: String) throws(TransferError) -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io("cannot stat", path, errno: errno) }
        return UInt64(info.st_size)
    }

    static func isDirectory(_ fd: CInt) -> Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Modification time of `path` in Unix seconds, or `nil` if it does not exist.
    static func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
        return Double(info.st_mtimespec.tv_sec) + Double(info.st_mtimespec.tv_nsec) / 1e9
        #else
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        #endif
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Creates `path` and its missing parents with `mode`.
    static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws(TransferError) {
        if Self.exists(path) { return }
        let parent = Self.parent(of: path)
        if parent != path, !parent.isEmpty { try Self.makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0, errno != EEXIST {
            throw .io("cannot create directory", path, errno: errno)
        }
    }

    /// Removes a file; a missing one is not an error.
    static func unlink(_ path: String) throws(TransferError) {
        #if canImport(Darwin)
        let result = Darwin.unlink(path)
        #elseif canImport(Musl)
        let result = Musl.unlink(path)
        #else
        let result = Glibc.unlink(path)
        #endif
        if result != 0, errno != ENOENT { throw .io("cannot remove", path, errno: errno) }
    }

    static func rename(_ from: String, _ to: String) throws(TransferError) {
        if Glibc_rename(from, to) != 0 { throw .io("cannot rename to \(to):", from, errno: errno) }
    }

    /// Renames `from` to `to` unless `to` exists; returns `false` (and leaves both alone) if it does.
    ///
    /// An exclusive placeholder claims the name first (`open(O_CREAT | O_EXCL)` fails on any existing
    /// entry, even one created a moment ago), then rename(2) replaces only that empty placeholder of
    /// ours. Checking that the name is free and then renaming would overwrite a file created in between.
    static func renameNoReplace(_ from: String, _ to: String) throws(TransferError) -> Bool {
        var fd: CInt = -1
        while fd < 0 {
            fd = to.withCString { Glibc_open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
            if fd < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EEXIST { return false }
                throw .io("cannot create", to, errno: code)
            }
        }
        Self.close(fd)
        do throws(TransferError) {
            try Self.rename(from, to)
        } catch {
            try? Self.unlink(to)
            throw error
        }
        return true
    }

    /// The names in a directory (without `.` and `..`); empty if it cannot be read.
    static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// `realpath(3)`: the path with symbolic links and `..` resolved, or `nil`.
    static func resolved(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

// The libc names that Swift shadows with its own (Foundation's `open`, `rename`): called through these.
@inline(__always)
private func Glibc_open(_ path: UnsafePointer<CChar>, _ flags: CInt, _ mode: mode_t) -> CInt {
    #if canImport(Darwin)
    Darwin.open(path, flags, mode)
    #elseif canImport(Musl)
    Musl.open(path, flags, mode)
    #else
    Glibc.open(path, flags, mode)
    #endif
}

@inline(__always)
private func Glibc_rename(_ from: String, _ to: String) -> CInt {
    #if canImport(Darwin)
    Darwin.rename(from, to)
    #elseif canImport(Musl)
    Musl.rename(from, to)
    #else
    Glibc.rename(from, to)
    #endif
}
