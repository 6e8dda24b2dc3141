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

/// One partial file being received, opened by ``PartialDirectory/open(_:syncInterval:)``.
///
/// Bytes are appended in order (``write(_:)``), hashed as they go, and fsynced every `syncInterval`
/// bytes, after which the sidecar records the new durable offset: that is where a resume starts.
/// ``finish(into:)`` verifies and moves the file into place; ``close()`` keeps it for a resume;
/// ``discard()`` deletes it.
///
/// Every operation runs on the thread pool. Run **one operation at a time** (await each, or chain the
/// futures): the order of the bytes is the order of the calls.
public final class PartialFile: Sendable {
    /// What is being received.
    public let manifest: TransferManifest
    /// The offset the file was opened at: 0 for a new transfer, the durable offset when resumed.
    /// This is what a receiver answers in `FILE_READY.payload.offset`.
    public let startOffset: UInt64
    /// `<partials>/<id>.part`.
    public let path: String
    let sidecarPath: String
    /// The `.partial` directory.
    let directory: String
    let syncInterval: UInt64
    let threadPool: NIOThreadPool
    private let state: Mutex<State>

    struct State {
        /// -1 once closed.
        var fd: CInt
        var hasher: SHA256
        var offset: UInt64
        var durableOffset: UInt64
        /// A write failed half way: the hash and the file may disagree, so nothing more is trusted.
        var broken = false
    }

    init(manifest: TransferManifest, fd: CInt, hasher: SHA256, startOffset: UInt64, path: String, sidecarPath: String, directory: String, syncInterval: UInt64, threadPool: NIOThreadPool) {
        self.manifest = manifest
        self.startOffset = startOffset
        self.path = path
        self.sidecarPath = sidecarPath
        self.directory = directory
        self.syncInterval = max(syncInterval, 1)
        self.threadPool = threadPool
        self.state = Mutex(State(fd: fd, hasher: hasher, offset: startOffset, durableOffset: startOffset))
    }

    deinit {
        // A file dropped without close(): at least do not leak the descriptor.
        self.state.withLock { state in
            if state.fd >= 0 { POSIX.close(state.fd) }
        }
    }

    /// Bytes written so far: the offset the next bytes must start at.
    public var offset: UInt64 { self.state.withLock { $0.offset } }
    /// Bytes fsynced and recorded in the sidecar.
    public var durableOffset: UInt64 { self.state.withLock { $0.durableOffset } }
    /// Whether all `manifest.size` bytes have been written.
    public var isComplete: Bool { self.offset == self.manifest.size }

    // MARK: Operations (async)

    /// Appends `chunks` at ``offset``, hashing them; fsyncs and records the durable offset each time
    /// `syncInterval` more bytes have been written since the last sync.
    ///
    /// - Throws: `size_mismatch` if the bytes would pass `manifest.size` (nothing is written then);
    ///   `io_error` if the disk refuses (the file is then unusable: discard it).
    public func write(_ chunks: [ByteBuffer]) async throws(TransferError) {
        try await self.run { () throws(TransferError) in try self.writeNow(chunks) }
    }

    /// Fsyncs, records the durable offset in the sidecar and closes the descriptor. The partial stays
    /// on disk for a resume. Closing twice does nothing.
    public func close() async throws(TransferError) {
        try await self.run { () throws(TransferError) in try self.closeNow() }
    }

    /// Completes the transfer once all bytes are written: fsync, check the size and the SHA-256, give
    /// the file a free name in `directory` (created if missing; `name (2).ext` when the name is taken,
    /// never overwriting), fsync the directory, remove the partial and its sidecar.
    ///
    /// - Parameter directory: Where the file goes (absolute path).
    /// - Returns: Where it went.
    /// - Throws: `size_mismatch` or `checksum_mismatch` (the partial is deleted: nothing is left);
    ///   `io_error`.
    public func finish(into directory: String) async throws(TransferError) -> SavedFile {
        try await self.run { () throws(TransferError) in try self.finishNow(into: directory) }
    }

    /// Deletes the partial and its sidecar: nothing of the transfer remains.
    public func discard() async {
        try? await self.run { () throws(TransferError) in self.discardNow() }
    }

    // MARK: Operations (futures, for callers on an event loop)

    /// ``write(_:)``, completed on `eventLoop`.
    public func write(_ chunks: [ByteBuffer], eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        self.run(eventLoop) { () throws(TransferError) in try self.writeNow(chunks) }
    }

    /// ``close()``, completed on `eventLoop`.
    public func close(eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        self.run(eventLoop) { () throws(TransferError) in try self.closeNow() }
    }

    /// ``finish(into:)``, completed on `eventLoop`.
    public func finish(into directory: String, eventLoop: any EventLoop) -> EventLoopFuture<SavedFile> {
        self.run(eventLoop) { () throws(TransferError) in try self.finishNow(into: directory) }
    }

    /// ``discard()``, completed on `eventLoop` (never fails).
    public func discard(eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        self.run(eventLoop) { () throws(TransferError) in self.discardNow() }.recover { _ in }
    }

    // MARK: Blocking bodies (thread pool only)

    func writeNow(_ chunks: [ByteBuffer]) throws(TransferError) {
        try self.state.withLock { (state: inout State) throws(TransferError) in
            guard state.fd >= 0, !state.broken else {
                throw TransferError(.ioError, "partial file \(self.path) is closed")
            }
            let count = chunks.reduce(UInt64(0)) { $0 + UInt64($1.readableBytes) }
            guard state.offset + count <= self.manifest.size else {
                throw TransferError(.sizeMismatch, "\(state.offset + count) bytes sent for a file offered as \(self.manifest.size) bytes")
            }
            for chunk in chunks {
                do throws(TransferError) {
                    let fd = state.fd
                    let offset = state.offset
                    try chunk.withUnsafeReadableBytes { (raw: UnsafeRawBufferPointer) in
                        Result { () throws(TransferError) in try POSIX.pwriteAll(fd, raw, at: offset, path: self.path) }
                    }.get()
                    chunk.withUnsafeReadableBytes { state.hasher.update(bufferPointer: $0) }
                } catch {
                    state.broken = true
                    throw error
                }
                state.offset += UInt64(chunk.readableBytes)
            }
            if state.offset - state.durableOffset >= self.syncInterval {
                try self.sync(&state)
            }
        }
    }

    /// fsync, then record the new durable offset (in that order: the sidecar never claims bytes the
    /// disk may not have).
    private func sync(_ state: inout State) throws(TransferError) {
        do throws(TransferError) {
            try POSIX.fsync(state.fd, path: self.path)
            try PartialSidecar(manifest: self.manifest, durableOffset: state.offset).write(to: self.sidecarPath, directory: self.directory)
        } catch {
            state.broken = true
            throw error
        }
        state.durableOffset = state.offset
    }

    func closeNow() throws(TransferError) {
        try self.state.withLock { (state: inout State) throws(TransferError) in
            guard state.fd >= 0 else { return }
            defer {
                POSIX.close(state.fd)
                state.fd = -1
            }
            // A broken file keeps its last good sidecar: a resume starts from what is known good.
            if !state.broken, state.offset > state.durableOffset {
                try self.sync(&state)
            }
        }
    }

    /// - Parameter afterPlacing: Runs once the file has its name in `target`, before the directory is
    ///   fsynced (tests make it throw to check that a failure from there on leaves nothing visible).
    func finishNow(into target: String, afterPlacing: ((String) throws(TransferError) -> Void)? = nil) throws(TransferError) -> SavedFile {
        // Set once the file is visible in `target`: a failure after that must take it away again,
        // or a file the catalog never hears of stays there while the sender is told FILE_FAILED.
        var placed: String?
        let outcome: Result<SavedFile, TransferError> = self.state.withLock { state in
            do throws(TransferError) {
                guard state.fd >= 0, !state.broken else {
                    throw TransferError(.ioError, "partial file \(self.path) is closed")
                }
                guard state.offset == self.manifest.size else {
                    throw TransferError(.sizeMismatch, "\(state.offset) bytes received of \(self.manifest.size) offered")
                }
                try POSIX.fsync(state.fd, path: self.path)
                let onDisk = try POSIX.size(state.fd, path: self.path)
                guard onDisk == self.manifest.size else {
                    throw TransferError(.sizeMismatch, "the partial file holds \(onDisk) bytes, \(self.manifest.size) were offered")
                }
                let digest = Hex.encode(state.hasher.finalize())
                guard digest == self.manifest.sha256 else {
                    throw TransferError(.checksumMismatch, "the \(self.manifest.size) bytes received have SHA-256 \(digest), the offer said \(self.manifest.sha256)")
                }
                try POSIX.makeDirectories(target)
                let name = try self.place(in: target)
                let destination = target + "/" + name
                placed = destination
                try afterPlacing?(destination)
                try POSIX.fsyncDirectory(target)
                POSIX.close(state.fd)
                state.fd = -1
                try? POSIX.unlink(self.path)
                try? POSIX.unlink(self.sidecarPath)
                try? POSIX.fsyncDirectory(self.directory)
                return .success(SavedFile(path: destination, filename: name, size: self.manifest.size, sha256: digest))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let saved):
            return saved
        case .failure(let error):
            // Whatever went wrong, nothing half-done stays: the partial cannot become this file any
            // more, and a name already given to it in `target` is taken back (it is ours: link(2)
            // or the exclusive placeholder created it).
            if let placed {
                try? POSIX.unlink(placed)
                try? POSIX.fsyncDirectory(target)
            }
            self.discardNow()
            throw error
        }
    }

    /// Links the partial to the first free name in `target` (link(2) fails rather than replace, so
    /// two files arriving at once cannot take the same name). File systems without hard links get
    /// ``POSIX/renameNoReplace(_:_:)``, which never replaces a file either.
    private func place(in target: String) throws(TransferError) -> String {
        for n in 1...10_000 {
            let name = FreeName.candidate(self.manifest.filename, n)
            let destination = target + "/" + name
            if link(self.path, destination) == 0 { return name }
            let code = errno
            switch code {
            case EEXIST:
                continue
            case EPERM, EXDEV, EMLINK, ENOSYS, EOPNOTSUPP:
                return try Self.placeByRename(self.path, in: target, filename: self.manifest.filename, from: n)
            default:
                throw .io("cannot create", destination, errno: code)
            }
        }
        throw TransferError(.ioError, "no free name for \(self.manifest.filename.debugDescription) in \(target) after 10000 tries")
    }

    /// Moves `path` to the first free name in `target` from the `first`th candidate on, without ever
    /// replacing a file (for file systems without hard links).
    static func placeByRename(_ path: String, in target: String, filename: String, from first: Int = 1) throws(TransferError) -> String {
        for n in first...10_000 {
            let name = FreeName.candidate(filename, n)
            if try POSIX.renameNoReplace(path, target + "/" + name) { return name }
        }
        throw TransferError(.ioError, "no free name for \(filename.debugDescription) in \(target) after 10000 tries")
    }

    func discardNow() {
        self.state.withLock { state in
            if state.fd >= 0 {
                POSIX.close(state.fd)
                state.fd = -1
            }
            state.broken = true
        }
        try? POSIX.unlink(self.path)
        try? POSIX.unlink(self.sidecarPath)
        try? POSIX.unlink(self.sidecarPath + ".tmp")
        try? POSIX.fsyncDirectory(self.directory)
    }

    // MARK: Running on the pool

    private func run<T: Sendable>(_ body: @escaping @Sendable () throws(TransferError) -> T) async throws(TransferError) -> T {
        do {
            return try await self.threadPool.runIfActive { try body() }
        } catch {
            throw TransferError.wrapping(error)
        }
    }

    private func run<T: Sendable>(_ eventLoop: any EventLoop, _ body: @escaping @Sendable () throws(TransferError) -> T) -> EventLoopFuture<T> {
        self.threadPool.runIfActive(eventLoop: eventLoop) { try body() }.flatMapErrorThrowing { throw TransferError.wrapping($0) }
    }
}
