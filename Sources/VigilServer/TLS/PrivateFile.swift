#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import Foundation

/// Writes secrets (private keys) so that no reader ever sees a partial or world-readable file.
enum PrivateFile {
    /// Creates `directory` with mode 0700 when missing.
    static func makeDirectory(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw TLSSetupError("\(directory) is not a directory") }
            return
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// Replaces `path` with `contents`: a new 0600 file beside it, fsynced, renamed over the old one,
    /// and the directory fsynced, so a crash leaves the old file or the new one, never a torn one.
    static func replace(_ path: String, with contents: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TLSSetupError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var failure: String?
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count, failure == nil {
            let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if result < 0 {
                if errno != EINTR { failure = "cannot write \(temporary): \(String(cString: strerror(errno)))" }
            } else {
                written += result
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = "cannot fsync \(temporary): \(String(cString: strerror(errno)))" }
        close(descriptor)
        if failure == nil, rename(temporary, path) != 0 { failure = "cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))" }
        if let failure {
            unlink(temporary)
            throw TLSSetupError(failure)
        }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    static func read(_ path: String, what: String, key: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TLSSetupError("\(key): cannot read the \(what) \(path): \((error as NSError).localizedDescription)")
        }
    }
}
