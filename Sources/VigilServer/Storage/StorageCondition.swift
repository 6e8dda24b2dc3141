#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import VigilStore

/// Whether the data directory has room to write, shared by every service that writes there.
///
/// The disk counts as full from a write that failed for space (``report(_:writing:)``) or from a
/// check that found less than `disk.min_free_bytes` free, until a check finds that much free again:
/// the server recovers by itself. While full, writes that need space and can wait (metrics
/// samples) are refused with `storage_full`; small writes that people and agents depend on
/// (sessions, registrations, last-use times) are best effort, so sign-in and registration go on.
/// Refusing the bulk writes early, below the threshold, keeps room for those small ones.
///
/// The condition is logged when it begins and then once per `disk.full_log_interval` while it
/// lasts (with how many writes were refused meanwhile), never once per refused write.
public final class StorageCondition: Service, Sendable {
    /// What `/api/health` shows.
    public struct Snapshot: Encodable, Sendable, Equatable {
        /// `ok` or `full`.
        public var state: String
        /// Since when the disk is full.
        public var since: Date?
        /// Bytes free at the last check (unset without a data directory).
        public var freeBytes: UInt64?
        /// Writes refused or dropped for space since the condition began.
        public var refusedWrites: Int
        /// Why: the last failed write, or the free space below the threshold.
        public var detail: String?

        enum CodingKeys: String, CodingKey {
            case state, since, detail
            case freeBytes = "free_bytes"
            case refusedWrites = "refused_writes"
        }
    }

    private struct State {
        /// A write failed for space and no check has found room since.
        var failed = false
        /// The last check found less than the threshold free.
        var low = false
        var since: Date?
        var freeBytes: UInt64?
        var refused = 0
        var refusedSinceLog = 0
        var detail: String?
        var lastLog: ContinuousClock.Instant?

        var isFull: Bool { self.failed || self.low }
    }

    /// The directory whose file system is checked; `nil` for a server without files (`storage: memory`).
    public let directory: String?
    let minFreeBytes: UInt64
    let checkInterval: Duration
    let logInterval: Duration
    private let logger: Logger
    private let state = Mutex(State())

    public init(directory: String?, settings: ServerSettings, logger: Logger) {
        self.directory = directory
        self.minFreeBytes = settings.diskMinFreeBytes
        self.checkInterval = settings.diskCheckInterval
        self.logInterval = settings.diskFullLogInterval
        self.logger = logger
    }

    /// Whether writes that need space are refused now.
    public var isFull: Bool { self.state.withLock { $0.isFull } }

    public var snapshot: Snapshot {
        self.state.withLock { state in
            Snapshot(state: state.isFull ? "full" : "ok", since: state.since, freeBytes: state.freeBytes,
                     refusedWrites: state.refused, detail: state.isFull ? state.detail : nil)
        }
    }

    /// When a refused write may be tried again: at the next check.
    public var retryAfter: Duration { self.checkInterval }

    /// Whether `error` means there is no space left (SQLite's full database, ENOSPC or EDQUOT from
    /// Foundation or SwiftNIO file writes).
    public static func isStorageFull(_ error: any Error) -> Bool {
        if let io = error as? IOError {
            return io.errnoCode == ENOSPC || io.errnoCode == EDQUOT
        }
        return StorageFull.isCause(of: error)
    }

    /// Records a failed write. When it failed for space the disk counts as full (logged here, at
    /// most once per interval) and `true` is returned; otherwise nothing changes and the caller
    /// reports the error as before.
    @discardableResult
    public func report(_ error: any Error, writing what: String) -> Bool {
        guard Self.isStorageFull(error) else { return false }
        self.change { state in
            state.failed = true
            state.detail = "writing \(what) failed: \(error)"
            state.refused += 1
            state.refusedSinceLog += 1
        }
        return true
    }

    /// Counts a write refused because the disk is full (logged with the condition, not one by one).
    public func refused() {
        self.change { state in
            state.refused += 1
            state.refusedSinceLog += 1
        }
    }

    /// Looks at the free space now; called every `disk.check_interval` by ``run()``.
    public func check() {
        guard let directory = self.directory, let free = Self.freeBytes(directory) else { return }
        self.change { state in
            state.freeBytes = free
            state.low = free < self.minFreeBytes
            if state.low {
                state.detail = "\(free) bytes free in \(directory), under disk.min_free_bytes (\(self.minFreeBytes))"
            } else {
                state.failed = false  // room again: the next write shows whether it fits
            }
        }
    }

    public func run() async throws {
        guard self.directory != nil else { return }
        self.check()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.checkInterval) }
            } catch {
                return
            }
            self.check()
        }
    }

    /// Applies `body` and logs a change of condition, or the condition again once its interval has passed.
    private func change(_ body: (inout State) -> Void) {
        let now = ContinuousClock.now
        enum Log { case began(String?), persists(Int, String?), ended(Duration?, Int) }
        let log: Log? = self.state.withLock { state in
            let wasFull = state.isFull
            body(&state)
            switch (wasFull, state.isFull) {
            case (false, true):
                state.since = Date()
                state.lastLog = now
                state.refusedSinceLog = 0
                return .began(state.detail)
            case (true, false):
                let lasted = state.since.map { Duration.seconds(Date().timeIntervalSince($0)) }
                let refused = state.refused
                state.since = nil
                state.detail = nil
                state.refused = 0
                state.refusedSinceLog = 0
                state.lastLog = nil
                return .ended(lasted, refused)
            case (true, true):
                guard let last = state.lastLog, now - last >= self.logInterval else { return nil }
                state.lastLog = now
                defer { state.refusedSinceLog = 0 }
                return .persists(state.refusedSinceLog, state.detail)
            case (false, false):
                return nil
            }
        }
        let directory = self.directory ?? "-"
        switch log {
        case .began(let detail):
            self.logger.error("storage full: writes that need space are refused (storage_full) until space returns", metadata: [
                "data_dir": "\(directory)", "detail": "\(detail ?? "-")", "log_interval": "\(self.logInterval.compactDescription)",
            ])
        case .persists(let refused, let detail):
            self.logger.error("storage full: still", metadata: [
                "data_dir": "\(directory)", "refused_writes": "\(refused)", "detail": "\(detail ?? "-")",
            ])
        case .ended(let lasted, let refused):
            self.logger.notice("storage writable again", metadata: [
                "data_dir": "\(directory)", "full_for": "\(lasted?.compactDescription ?? "-")", "refused_writes": "\(refused)",
            ])
        case nil:
            break
        }
    }

    /// Bytes an unprivileged writer may still use on the file system holding `path`.
    static func freeBytes(_ path: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }
}
