import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The agent's bounded on-disk spool of metrics samples no server has acknowledged: append-only
/// segment files of checksummed records (``SpoolRecord``), replayed oldest first and deleted only
/// once the server acknowledged every record of a segment.
///
/// Every method does blocking file I/O (each append is synced before it returns): call them off
/// the event loops and the concurrency pool (``MetricsPipeline`` uses its `NIOThreadPool`).
///
/// Acknowledgements live in memory only: after a restart the agent replays what was still on
/// disk, including records acknowledged just before, and the server stores a (host, timestamp) once
/// (PROTOCOL.md §4.6), so a repeat costs a little bandwidth, never a duplicate.
final class SampleSpool: Sendable {
    struct Entry: Sendable {
        var id: UInt64
        var offset: Int
        var length: Int
        var timestampMs: Int64
    }

    struct Segment: Sendable {
        var path: String
        var bytes: Int
        var entries: [Entry] = []
    }

    /// What ``checkout(now:)`` found.
    enum Checkout: Sendable, Equatable {
        case record(SpoolRecord)
        /// Nothing left to send.
        case empty
        /// `replayWindow` records are in flight already.
        case windowFull
    }

    private struct State: Sendable {
        var segments: [Segment] = []
        /// The last segment, open for appending; -1 when none is open.
        var writer: Int32 = -1
        var nextID: UInt64 = 1
        var bytes = 0
        /// Records acknowledged (or dropped) in segments still on disk.
        var acked: Set<UInt64> = []
        var inFlight: Set<UInt64> = []
        /// Every record below it is acknowledged or in flight.
        var cursor: UInt64 = 0
        var counters = SpoolCounters()
    }

    let settings: SpoolSettings
    private let lockDescriptor: Int32
    private let state: Mutex<State>

    /// Opens (creating it 0700 if needed) and locks the directory, reads the segments and cuts a
    /// torn tail away (counted in ``SpoolCounters/damaged``).
    init(settings: SpoolSettings, now: Date = Date()) throws(SpoolError) {
        self.settings = settings
        let directory = settings.directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SpoolError(.io, "cannot create the spool directory \(directory): \(error)")
        }
        chmod(directory, 0o700)
        let lock = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw SpoolError(.io, "cannot open \(directory)/lock: \(Self.lastError())") }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            close(lock)
            throw SpoolError(.locked, "\(directory) is in use by another vigil-agent")
        }
        self.lockDescriptor = lock
        var state = State()
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(Self.segmentSuffix) }
            .compactMap { name in UInt64(name.dropLast(Self.segmentSuffix.count)).map { (id: $0, name: name) } }
            .sorted { $0.id < $1.id }
        for (_, name) in names {
            let path = directory + "/" + name
            var segment = Segment(path: path, bytes: 0)
            let damaged = Self.scan(&segment)
            state.counters.damaged += damaged
            if segment.entries.isEmpty {
                unlink(path)
                continue
            }
            state.nextID = max(state.nextID, segment.entries[segment.entries.count - 1].id + 1)
            state.bytes += segment.bytes
            state.segments.append(segment)
        }
        self.state = Mutex(state)
        self.state.withLock { state in Self.dropExpired(&state, settings: settings, now: now) }
    }

    deinit {
        self.state.withLock { state in
            if state.writer >= 0 { close(state.writer) }
        }
        close(self.lockDescriptor)
    }

    static let segmentSuffix = ".seg"

    // MARK: Reading the directory

    /// Reads a segment's records into its index. A torn or damaged record ends the segment: the
    /// file is truncated there. Returns how many damaged spots were cut (0 or 1).
    private static func scan(_ segment: inout Segment) -> Int {
        guard let data = FileManager.default.contents(atPath: segment.path) else { return 1 }
        let bytes = [UInt8](data)
        guard bytes.count >= SpoolRecord.fileMagic.count, bytes.starts(with: SpoolRecord.fileMagic) else {
            // Not even the magic: a crash right after creating the file (or not a segment at all).
            segment.bytes = 0
            return bytes.isEmpty ? 0 : 1
        }
        var offset = SpoolRecord.fileMagic.count
        var previous: UInt64 = 0
        scanning: while true {
            switch SpoolRecord.decode(bytes, at: offset) {
            case .end:
                break scanning
            case .record(let record, let end):
                guard record.id > previous else {
                    truncate(segment.path, off_t(offset))
                    segment.bytes = offset
                    return 1
                }
                previous = record.id
                segment.entries.append(Entry(id: record.id, offset: offset, length: end - offset, timestampMs: record.timestampMs))
                offset = end
            case .torn:
                // The tail a crash left half-written: cut it, so appends never follow garbage.
                truncate(segment.path, off_t(offset))
                segment.bytes = offset
                return 1
            }
        }
        segment.bytes = offset
        return 0
    }

    // MARK: Appending

    /// Appends one sample and syncs it to disk; drops the oldest samples when the spool is over
    /// `maxBytes` (and expired ones), counting them.
    /// - Returns: How many samples this append dropped to stay within the bounds.
    @discardableResult
    func append(payload: [UInt8], timestampMs: Int64, now: Date = Date()) throws(SpoolError) -> Int {
        try self.state.withLock { (state) throws(SpoolError) -> Int in
            let before = state.counters.droppedFull + state.counters.droppedExpired
            Self.dropExpired(&state, settings: self.settings, now: now)
            let bytes = SpoolRecord(id: state.nextID, timestampMs: timestampMs, payload: payload).encoded()
            guard bytes.count + SpoolRecord.fileMagic.count <= self.settings.maxBytes else {
                state.counters.droppedFull += 1
                return state.counters.droppedFull + state.counters.droppedExpired - before
            }
            if state.writer < 0 || state.segments.isEmpty || state.segments[state.segments.count - 1].bytes + bytes.count > self.settings.segmentBytes {
                try self.startSegment(&state, firstID: state.nextID)
            }
            let index = state.segments.count - 1
            let offset = state.segments[index].bytes
            if let failure = Self.writeAll(state.writer, bytes) ?? (fdatasync(state.writer) == 0 ? nil : Self.lastError()) {
                // Leave no partial record behind for the next append to follow.
                _ = ftruncate(state.writer, off_t(offset))
                throw SpoolError(.io, "cannot write to \(state.segments[index].path): \(failure)")
            }
            state.segments[index].entries.append(Entry(id: state.nextID, offset: offset, length: bytes.count, timestampMs: timestampMs))
            state.segments[index].bytes += bytes.count
            state.bytes += bytes.count
            state.nextID += 1
            state.counters.spooled += 1
            // Oldest first: whole segments, never the one just written to.
            while state.bytes > self.settings.maxBytes, state.segments.count > 1 {
                Self.dropFirstSegment(&state, counting: \.droppedFull)
            }
            return state.counters.droppedFull + state.counters.droppedExpired - before
        }
    }

    /// Closes the current segment and creates the next one (0600), synced with its directory entry.
    private func startSegment(_ state: inout State, firstID: UInt64) throws(SpoolError) {
        if state.writer >= 0 {
            close(state.writer)
            state.writer = -1
        }
        let path = self.settings.directory + "/" + Self.segmentName(firstID) + Self.segmentSuffix
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SpoolError(.io, "cannot create \(path): \(Self.lastError())") }
        fchmod(descriptor, 0o600)
        if let failure = Self.writeAll(descriptor, SpoolRecord.fileMagic) ?? (fsync(descriptor) == 0 ? nil : Self.lastError()) {
            close(descriptor)
            unlink(path)
            throw SpoolError(.io, "cannot write \(path): \(failure)")
        }
        Self.syncDirectory(self.settings.directory)
        state.writer = descriptor
        state.segments.append(Segment(path: path, bytes: SpoolRecord.fileMagic.count))
        state.bytes += SpoolRecord.fileMagic.count
    }

    // MARK: Replaying

    /// The oldest record neither acknowledged nor in flight, now in flight; expired records met on
    /// the way are dropped (counted), damaged ones skipped (counted).
    func checkout(now: Date = Date()) -> Checkout {
        self.state.withLock { state in
            guard state.inFlight.count < self.settings.replayWindow else { return .windowFull }
            let oldest = Self.milliseconds(now) - Self.milliseconds(self.settings.maxAge)
            defer { Self.removeAcknowledgedSegments(&state) }
            for segmentIndex in state.segments.indices {
                let segment = state.segments[segmentIndex]
                guard let last = segment.entries.last, last.id >= state.cursor else { continue }
                var index = Self.firstIndex(in: segment.entries, atLeast: state.cursor)
                while index < segment.entries.count {
                    let entry = segment.entries[index]
                    index += 1
                    guard !state.acked.contains(entry.id), !state.inFlight.contains(entry.id) else { continue }
                    if entry.timestampMs < oldest {
                        state.acked.insert(entry.id)
                        state.counters.droppedExpired += 1
                        continue
                    }
                    guard let record = Self.read(entry, from: segment.path) else {
                        state.acked.insert(entry.id)
                        state.counters.damaged += 1
                        continue
                    }
                    state.inFlight.insert(entry.id)
                    state.cursor = entry.id + 1
                    return .record(record)
                }
            }
            state.cursor = state.nextID
            return .empty
        }
    }

    /// The server stored the record (or it can never be stored): it is done with. A segment whose
    /// records are all done with is deleted.
    func acknowledge(_ id: UInt64) {
        self.state.withLock { state in
            state.inFlight.remove(id)
            guard Self.contains(state, id), state.acked.insert(id).inserted else { return }
            state.counters.acknowledged += 1
            Self.removeAcknowledgedSegments(&state)
        }
    }

    /// The record was not stored (the connection broke, or the server asked for it later): it is
    /// replayed again.
    func release(_ id: UInt64) {
        self.state.withLock { state in
            guard state.inFlight.remove(id) != nil else { return }
            state.cursor = min(state.cursor, id)
        }
    }

    /// Every record in flight is sent again (a new connection).
    func releaseAll() {
        self.state.withLock { state in
            state.inFlight.removeAll()
            state.cursor = 0
        }
    }

    // MARK: Figures

    var counters: SpoolCounters { self.state.withLock { $0.counters } }
    /// Bytes of the segment files.
    var bytes: Int { self.state.withLock { $0.bytes } }
    /// Records on disk not yet acknowledged.
    var pendingCount: Int {
        self.state.withLock { state in state.segments.reduce(0) { $0 + $1.entries.count } - state.acked.count }
    }

    // MARK: Helpers

    private static func contains(_ state: State, _ id: UInt64) -> Bool {
        state.segments.contains { segment in
            guard let first = segment.entries.first, let last = segment.entries.last else { return false }
            return first.id <= id && id <= last.id
        }
    }

    /// Deletes the leading segments whose records are all acknowledged.
    private static func removeAcknowledgedSegments(_ state: inout State) {
        while let first = state.segments.first, first.entries.allSatisfy({ state.acked.contains($0.id) }) {
            Self.dropFirstSegment(&state, counting: nil)
        }
    }

    /// Drops whole segments whose newest record is past `maxAge`.
    private static func dropExpired(_ state: inout State, settings: SpoolSettings, now: Date) {
        let oldest = Self.milliseconds(now) - Self.milliseconds(settings.maxAge)
        while let first = state.segments.first, let last = first.entries.last, last.timestampMs < oldest {
            Self.dropFirstSegment(&state, counting: \.droppedExpired)
        }
    }

    /// Deletes the oldest segment; its records not yet acknowledged are counted under `counter`.
    private static func dropFirstSegment(_ state: inout State, counting counter: WritableKeyPath<SpoolCounters, Int>?) {
        let segment = state.segments.removeFirst()
        if state.segments.isEmpty, state.writer >= 0 {
            close(state.writer)
            state.writer = -1
        }
        unlink(segment.path)
        state.bytes -= segment.bytes
        for entry in segment.entries {
            if state.acked.remove(entry.id) == nil, let counter { state.counters[keyPath: counter] += 1 }
            state.inFlight.remove(entry.id)
        }
    }

    private static func firstIndex(in entries: [Entry], atLeast id: UInt64) -> Int {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].id < id { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Reads and checks one record; nil when it is unreadable or does not match its checksum.
    private static func read(_ entry: Entry, from path: String) -> SpoolRecord? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: entry.length)
        var done = 0
        while done < entry.length {
            let count = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + done, entry.length - done, off_t(entry.offset + done))
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            done += count
        }
        guard case .record(let record, _) = SpoolRecord.decode(bytes, at: 0), record.id == entry.id else { return nil }
        return record
    }

    /// Writes every byte; nil on success, else the error's text.
    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> String? {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in write(descriptor, buffer.baseAddress! + done, bytes.count - done) }
            if count < 0 {
                if errno == EINTR { continue }
                return self.lastError()
            }
            done += count
        }
        return nil
    }

    /// Makes a new file's directory entry durable (a crash after it must not lose the segment).
    private static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    /// A segment's file name: its first record's id, zero-padded so names sort as numbers.
    static func segmentName(_ firstID: UInt64) -> String {
        let digits = String(firstID)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds.multipliedReportingOverflow(by: 1000).overflow ? .max / 2 : seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
