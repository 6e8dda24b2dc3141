#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import NIOCore
import NIOPosix
import Synchronization
import VigilProtocol

/// A file opened for sending: its size, its SHA-256, and its bytes at any offset, all read on a
/// thread pool with bounded memory (one chunk at a time).
///
/// Reads may run concurrently (`pread` has no shared position). The file is expected not to change
/// while it is sent; if it does, the receiver's checksum check fails the transfer.
public final class OutgoingFile: Sendable {
    /// As given to ``open(path:threadPool:)``.
    public let path: String
    /// The last component of ``path``, not validated: pass it through ``FileName/validate(_:)`` before offering it.
    public let filename: String
    /// Bytes, when opened.
    public let size: UInt64
    let threadPool: NIOThreadPool
    private let descriptor: Mutex<CInt>

    /// Bytes read per step while hashing.
    static let hashStep = 1 << 20

    private init(path: String, fd: CInt, size: UInt64, threadPool: NIOThreadPool) {
        self.path = path
        self.filename = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
        self.size = size
        self.threadPool = threadPool
        self.descriptor = Mutex(fd)
    }

    deinit {
        self.close()
    }

    /// Opens a regular file for reading.
    ///
    /// - Throws: `io_error` with the reason (missing, unreadable, a directory).
    public static func open(path: String, threadPool: NIOThreadPool = .singleton) async throws(TransferError) -> OutgoingFile {
        do {
            return try await threadPool.runIfActive { () throws(TransferError) -> OutgoingFile in
                let fd = try POSIX.open(path, O_RDONLY)
                if POSIX.isDirectory(fd) {
                    POSIX.close(fd)
                    throw TransferError(.ioError, "\(path) is a directory; send the files in it one by one")
                }
                do throws(TransferError) {
                    let size = try POSIX.size(fd, path: path)
                    return OutgoingFile(path: path, fd: fd, size: size, threadPool: threadPool)
                } catch {
                    POSIX.close(fd)
                    throw error
                }
            }
        } catch {
            throw TransferError.wrapping(error)
        }
    }

    /// The SHA-256 of the whole file as 64 lower-case hex digits, read in 1 MiB steps.
    ///
    /// - Parameter progress: Called (on a pool thread) with the bytes hashed so far after each step.
    /// - Throws: `io_error`; `size_mismatch` if the file is shorter than when it was opened.
    public func sha256(progress: (@Sendable (UInt64) -> Void)? = nil) async throws(TransferError) -> String {
        try await self.run { () throws(TransferError) -> String in
            let fd = try self.fd()
            var hasher = SHA256()
            var buffer = Buffers.make(capacity: Self.hashStep)
            var position: UInt64 = 0
            while position < self.size {
                buffer.clear()
                let want = Int(min(UInt64(Self.hashStep), self.size - position))
                let got = try POSIX.pread(fd, into: &buffer, count: want, at: position, path: self.path)
                guard got == want else {
                    throw TransferError(.sizeMismatch, "\(self.path) shrank to \(position + UInt64(got)) bytes while being read (it was \(self.size))")
                }
                buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                position += UInt64(got)
                progress?(position)
            }
            return Hex.encode(hasher.finalize())
        }
    }

    /// Up to `count` bytes at `offset`: fewer only at the end of the file.
    public func read(at offset: UInt64, count: Int) async throws(TransferError) -> ByteBuffer {
        try await self.run { () throws(TransferError) in try self.readNow(at: offset, count: count, frameFor: nil) }
    }

    /// A whole binary data frame payload for `FILE_READY`'d bytes: `0x01 | transfer id | offset |`
    /// up to `count` file bytes read at `offset`, in one buffer (no copy). Write it to a channel with
    /// Vigil's framing, which puts the 4-byte length in front.
    public func readFrame(transferID: UUID, at offset: UInt64, count: Int) async throws(TransferError) -> ByteBuffer {
        try await self.run { () throws(TransferError) in try self.readNow(at: offset, count: count, frameFor: transferID) }
    }

    /// ``readFrame(transferID:at:count:)``, completed on `eventLoop` (for code running on a NIO loop).
    public func readFrame(transferID: UUID, at offset: UInt64, count: Int, eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer> {
        self.threadPool.runIfActive(eventLoop: eventLoop) { () throws(TransferError) in
            try self.readNow(at: offset, count: count, frameFor: transferID)
        }.flatMapErrorThrowing { throw TransferError.wrapping($0) }
    }

    /// Closes the descriptor; reads after it fail. Also done when the value is released.
    public func close() {
        self.descriptor.withLock { fd in
            if fd >= 0 { POSIX.close(fd) }
            fd = -1
        }
    }

    // MARK: Internals

    private func fd() throws(TransferError) -> CInt {
        let fd = self.descriptor.withLock { $0 }
        guard fd >= 0 else { throw TransferError(.ioError, "\(self.path) is closed") }
        return fd
    }

    func readNow(at offset: UInt64, count: Int, frameFor transferID: UUID?) throws(TransferError) -> ByteBuffer {
        let fd = try self.fd()
        let want = max(0, min(count, Int(clamping: self.size > offset ? self.size - offset : 0)))
        var buffer = Buffers.make(capacity: (transferID == nil ? 0 : FileDataFrame.headerSize) + want)
        if let transferID {
            FileDataFrame.writeHeader(transferID: transferID, offset: offset, into: &buffer)
        }
        let got = try POSIX.pread(fd, into: &buffer, count: want, at: offset, path: self.path)
        guard got == want else {
            throw TransferError(.sizeMismatch, "\(self.path) shrank to \(offset + UInt64(got)) bytes while being sent (it was \(self.size))")
        }
        return buffer
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable () throws(TransferError) -> T) async throws(TransferError) -> T {
        do {
            return try await self.threadPool.runIfActive { try body() }
        } catch {
            throw TransferError.wrapping(error)
        }
    }
}
