import Foundation
import Testing
@testable import VigilAgent

/// The on-disk metrics spool: bounds, order, expiry, and what a crash while writing leaves.
@Suite("Sample spool")
struct SampleSpoolTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A fresh spool directory, removed after `body`.
    static func withDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-spool-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try body(directory + "/spool")
    }

    static func settings(_ directory: String, maxBytes: Int = 1 << 20, maxAge: Duration = .seconds(3600), window: Int = 1000) -> SpoolSettings {
        var settings = SpoolSettings(directory: directory)
        settings.maxBytes = maxBytes
        settings.maxAge = maxAge
        settings.replayWindow = window
        return settings
    }

    static func payload(_ index: Int, size: Int = 100) -> [UInt8] {
        Array("{\"n\":\(index)}".utf8) + [UInt8](repeating: UInt8(ascii: " "), count: max(0, size - 10))
    }

    static func ms(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970 * 1000) }

    /// Checks out everything, in order, and returns the record ids.
    static func drain(_ spool: SampleSpool, now: Date = now) -> [UInt64] {
        var ids: [UInt64] = []
        while case .record(let record) = spool.checkout(now: now) { ids.append(record.id) }
        return ids
    }

    static func segments(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
    }

    @Test("records replay oldest first with their payloads; acknowledged segments are deleted; files 0600 in a 0700 directory")
    func replayOrderAndAcknowledgement() throws {
        try Self.withDirectory { directory in
            let spool = try SampleSpool(settings: Self.settings(directory, maxBytes: 4000), now: Self.now)
            for index in 0..<20 {
                try spool.append(payload: Self.payload(index), timestampMs: Self.ms(Self.now) + Int64(index) * 1000, now: Self.now)
            }
            #expect(spool.pendingCount == 20)
            #expect(Self.segments(directory).count > 1, "4000 bytes make 500-byte segments")
            var records: [SpoolRecord] = []
            while case .record(let record) = spool.checkout(now: Self.now) { records.append(record) }
            #expect(records.map(\.id) == Array(1...20))
            #expect(records.map(\.payload) == (0..<20).map { Self.payload($0) })
            #expect(records.map(\.timestampMs) == (0..<20).map { Self.ms(Self.now) + Int64($0) * 1000 })
            let attributes = try FileManager.default.attributesOfItem(atPath: directory)
            #expect((attributes[.posixPermissions] as? Int) == 0o700)
            for name in Self.segments(directory) {
                let file = try FileManager.default.attributesOfItem(atPath: directory + "/" + name)
                #expect((file[.posixPermissions] as? Int) == 0o600)
            }
            // Acknowledgements out of order: nothing goes before the oldest is acknowledged.
            for id in (2...20).reversed() { spool.acknowledge(UInt64(id)) }
            #expect(spool.pendingCount == 1)
            #expect(!Self.segments(directory).isEmpty)
            spool.acknowledge(1)
            #expect(spool.pendingCount == 0)
            #expect(Self.segments(directory).isEmpty, "every record acknowledged: no segment left")
            #expect(spool.counters.acknowledged == 20)
        }
    }

    @Test("a record released (not stored) is sent again before later ones; a new connection resends what was in flight")
    func releaseAndRewind() throws {
        try Self.withDirectory { directory in
            let spool = try SampleSpool(settings: Self.settings(directory, window: 3), now: Self.now)
            for index in 0..<6 { try spool.append(payload: Self.payload(index), timestampMs: Self.ms(Self.now), now: Self.now) }
            #expect(Self.drain(spool) == [1, 2, 3], "the window holds 3 in flight")
            #expect(spool.checkout(now: Self.now) == .windowFull)
            spool.acknowledge(1)
            spool.release(2)
            #expect(Self.drain(spool) == [2, 4], "the released one first, then on, up to the window (2, 3, 4)")
            spool.acknowledge(2)
            spool.acknowledge(3)
            #expect(Self.drain(spool) == [5, 6])
            spool.releaseAll()
            #expect(Self.drain(spool) == [4, 5, 6], "in flight when the connection ended: sent again")
        }
    }

    @Test("over max_bytes the oldest samples are dropped first and counted; the newest are kept")
    func maxBytes() throws {
        try Self.withDirectory { directory in
            let spool = try SampleSpool(settings: Self.settings(directory, maxBytes: 2000), now: Self.now)
            var dropped = 0
            for index in 0..<100 {
                dropped += try spool.append(payload: Self.payload(index), timestampMs: Self.ms(Self.now), now: Self.now)
            }
            #expect(spool.bytes <= 2000)
            let kept = spool.pendingCount
            #expect(kept > 5 && kept < 20)
            #expect(dropped == 100 - kept)
            #expect(spool.counters.droppedFull == 100 - kept)
            #expect(spool.counters.spooled == 100)
            #expect(Self.drain(spool) == Array(UInt64(101 - kept)...100), "the newest \(kept) remain, in order")
            let onDisk = Self.segments(directory).reduce(0) { total, name in
                total + ((try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0)
            }
            #expect(onDisk == spool.bytes)
        }
    }

    @Test("samples older than max_age are dropped and counted, at replay and at reopen")
    func maxAge() throws {
        try Self.withDirectory { directory in
            let settings = Self.settings(directory, maxBytes: 2000, maxAge: .seconds(60))
            do {
                let spool = try SampleSpool(settings: settings, now: Self.now)
                for index in 0..<10 {
                    // 0...4 are two minutes old, 5...9 fresh.
                    let time = index < 5 ? Self.now.addingTimeInterval(-120) : Self.now
                    try spool.append(payload: Self.payload(index), timestampMs: Self.ms(time), now: Self.now.addingTimeInterval(-130))
                }
                #expect(Self.drain(spool) == [6, 7, 8, 9, 10])
                #expect(spool.counters.droppedExpired == 5)
            }
            // Reopened 10 minutes later: everything is past max_age, and the files are gone.
            let later = try SampleSpool(settings: settings, now: Self.now.addingTimeInterval(600))
            #expect(later.pendingCount == 0)
            // At least the five never acknowledged; acknowledgements are not kept across restarts, so
            // a dropped record sharing a segment with them is counted again.
            #expect(later.counters.droppedExpired >= 5)
            #expect(Self.segments(directory).isEmpty)
        }
    }

    @Test("a torn tail (a crash mid-write: a truncated file, or garbage after the last record) is cut at reopen, the records before it kept")
    func tornTail() throws {
        for damage in ["truncated", "garbage", "bad checksum"] {
            try Self.withDirectory { directory in
                let settings = Self.settings(directory)
                do {
                    let spool = try SampleSpool(settings: settings, now: Self.now)
                    for index in 0..<5 { try spool.append(payload: Self.payload(index), timestampMs: Self.ms(Self.now), now: Self.now) }
                }
                let path = directory + "/" + Self.segments(directory).last!
                var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
                let whole = bytes.count
                switch damage {
                case "truncated": bytes.removeLast(37)  // into the fifth record's payload
                case "garbage": bytes += [0xFF, 0x00, 0x13, 0x37, 0x42]
                default: bytes[bytes.count - 3] ^= 0x55  // the fifth record's payload, checksum no longer matching
                }
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                let reopened = try SampleSpool(settings: settings, now: Self.now)
                #expect(reopened.counters.damaged == 1, "\(damage)")
                let expected: [UInt64] = damage == "garbage" ? [1, 2, 3, 4, 5] : [1, 2, 3, 4]
                #expect(reopened.pendingCount == expected.count, "\(damage)")
                let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
                #expect(damage == "garbage" ? size == whole : size! < whole, "\(damage): the tail is cut off the file")
                // Appending after the cut follows whole records only.
                try reopened.append(payload: Self.payload(99), timestampMs: Self.ms(Self.now), now: Self.now)
                var records: [SpoolRecord] = []
                while case .record(let record) = reopened.checkout(now: Self.now) { records.append(record) }
                #expect(records.map(\.id) == expected + [UInt64(expected.count + 1)], "\(damage)")
                #expect(records.last?.payload == Self.payload(99))
            }
        }
    }

    @Test("a second agent cannot use a spool directory in use")
    func locked() throws {
        try Self.withDirectory { directory in
            let first = try SampleSpool(settings: Self.settings(directory), now: Self.now)
            #expect(throws: SpoolError.self) { _ = try SampleSpool(settings: Self.settings(directory), now: Self.now) }
            _ = first
        }
    }

    @Test("a sample larger than the whole spool is dropped and counted, not written")
    func oversized() throws {
        try Self.withDirectory { directory in
            let spool = try SampleSpool(settings: Self.settings(directory, maxBytes: 1000), now: Self.now)
            #expect(try spool.append(payload: Self.payload(0, size: 2000), timestampMs: 0, now: Self.now) == 1)
            #expect(spool.pendingCount == 0 && spool.counters.droppedFull == 1)
        }
    }
}
