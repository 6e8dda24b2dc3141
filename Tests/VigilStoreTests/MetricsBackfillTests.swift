import Foundation
import GRDB
import Testing
@testable import VigilStore

/// Back-fill (issue 15 §3): samples older than a host's newest, as an agent replays its spool after
/// an outage, stored into raw history and rollups once per (host, timestamp).
@Suite("Metrics back-fill")
struct MetricsBackfillTests {
    /// 400 samples at 5 s (33 minutes: minute buckets, one hour bucket boundary not crossed).
    static let all = samples(start: metricsEpoch + 1800, count: 400) { index in [Double(index % 17) * 1.5, Double(index)] }
    /// The outage: these never arrived live.
    static let gap = 100..<300

    /// Raw and rolled-up points of both series over the whole span.
    static func history(_ store: any MetricsStore) async throws -> [[SeriesPoint]] {
        var result: [[SeriesPoint]] = []
        for series in ["cpu", "mem"] {
            for resolution in MetricResolution.allCases {
                result.append(try await store.points(hostname: "web-1", series: series, from: metricsEpoch, to: metricsEpoch + 7200, resolution: resolution))
            }
        }
        return result
    }

    static func expected() -> [[SeriesPoint]] {
        var result: [[SeriesPoint]] = []
        for series in ["cpu", "mem"] {
            result.append(expectedRawPoints(Self.all, series: series))
            result.append(expectedRollup(Self.all, series: series, bucketSeconds: 60))
            result.append(expectedRollup(Self.all, series: series, bucketSeconds: 3600))
        }
        return result
    }

    /// Sealed blocks of one level must never overlap (the readers rely on it).
    static func blocksDoNotOverlap(_ store: SQLiteMetricsStore) async throws -> Bool {
        try await store.pool.read { db in
            for resolution in MetricResolution.allCases {
                let rows = try Row.fetchAll(db, sql: "SELECT start_ms, end_ms FROM blocks WHERE resolution = ? ORDER BY host_id, start_ms", arguments: [resolution.rawValue])
                var previous = Int64.min
                for row in rows {
                    let start: Int64 = row[0]
                    let end: Int64 = row[1]
                    guard start > previous, end >= start else { return false }
                    previous = end
                }
            }
            return true
        }
    }

    @Test("a gap replayed partially, then fully, then again, out of order and across a restart, ends as if nothing was missed; each sample stored once")
    func partialThenFullReplay() async throws {
        try await withTemporaryDirectory { directory in
            var stored = 0
            var dirty = 0
            do {
                let store = try SQLiteMetricsStore(directory: directory, rawBlockRows: 30, minuteBlockRows: 10)
                stored += try await store.append(Array(Self.all[..<Self.gap.lowerBound]))
                // Back online: the first live samples, then the replay starts.
                stored += try await store.append(Array(Self.all[Self.gap.upperBound..<(Self.gap.upperBound + 20)]))
                // A partial replay (the connection broke): the first 60 of the gap, 7 per batch.
                let gap = Array(Self.all[Self.gap])
                for start in stride(from: 0, to: 60, by: 7) {
                    stored += try await store.append(Array(gap[start..<min(start + 7, 60)]))
                }
                // The minute the replay stopped in awaits its recomputation, across the restart.
                dirty = store.dirtyBucketCount
                #expect(dirty > 0)
                try store.close()
            }
            // The server restarted; the replay starts over from the beginning of the gap.
            let store = try SQLiteMetricsStore(directory: directory, rawBlockRows: 30, minuteBlockRows: 10)
            #expect(store.dirtyBucketCount == dirty)
            let gap = Array(Self.all[Self.gap])
            stored += try await store.append(Array(Self.all[(Self.gap.upperBound + 20)..<(Self.gap.upperBound + 40)]))
            for start in stride(from: 0, to: gap.count, by: 9) {
                stored += try await store.append(Array(gap[start..<min(start + 9, gap.count)]))
            }
            // Every sample once more, shuffled, in one batch, while the rest arrives live.
            var generator = SeededGenerator(seed: 15)
            stored += try await store.append(Array(Self.all[..<(Self.gap.upperBound + 40)]).shuffled(using: &generator))
            stored += try await store.append(Array(Self.all[(Self.gap.upperBound + 40)...]))
            #expect(stored == Self.all.count, "each (host, timestamp) stored exactly once")
            // The replay's last buckets are recomputed within a few seconds by the next write, or now.
            try await store.settleBackfill()
            #expect(store.dirtyBucketCount == 0)
            let history = try await Self.history(store)
            let expected = Self.expected()
            for (got, want) in zip(history, expected) {
                #expect(samePoints(got, want), "got \(got.count) points, want \(want.count)")
            }
            #expect(try await Self.blocksDoNotOverlap(store))
            #expect(try await store.newestSampleTimes()["web-1"] == Self.all.last!.timestamp, "back-fill does not move the newest time")
            try store.close()
            // And after another restart (open buckets rebuilt from raw), still the same.
            let reopened = try SQLiteMetricsStore(directory: directory, rawBlockRows: 30, minuteBlockRows: 10)
            for (got, want) in zip(try await Self.history(reopened), expected) {
                #expect(samePoints(got, want))
            }
        }
    }

    @Test("duplicate timestamps: within a batch, against stored raw rows, and against the open block, stored once, rollups counted once")
    func duplicates() async throws {
        try await withMetricsStore(rawBlockRows: 1000) { store, _ in
            let first = Array(Self.all[..<50])
            #expect(try await store.append(first) == 50)
            // The same samples again (an acknowledgement lost, everything resent), twice in one batch.
            #expect(try await store.append(first + first) == 0)
            // A duplicate with another value: the stored one stays.
            var changed = first[10]
            changed.values = [999, 999]
            #expect(try await store.append([changed]) == 0)
            let raw = try await store.points(hostname: "web-1", series: "cpu", from: metricsEpoch, to: metricsEpoch + 7200, resolution: .raw)
            #expect(samePoints(raw, expectedRawPoints(first, series: "cpu")))
            let minutes = try await store.points(hostname: "web-1", series: "cpu", from: metricsEpoch, to: metricsEpoch + 7200, resolution: .minute)
            #expect(samePoints(minutes, expectedRollup(first, series: "cpu", bucketSeconds: 60)))
            #expect(minutes.reduce(0) { $0 + $1.count } == 50)
        }
    }

    @Test("the memory store back-fills once per timestamp too")
    func memoryStore() async throws {
        let store = MemoryMetricsStore(capacity: 1000)
        let live = Array(Self.all[..<Self.gap.lowerBound]) + Array(Self.all[Self.gap.upperBound...])
        #expect(try await store.append(live) == live.count)
        #expect(try await store.append(Array(Self.all[Self.gap].prefix(50))) == 50)
        #expect(try await store.append(Array(Self.all[Self.gap])) == Self.gap.count - 50)
        #expect(try await store.append(Self.all) == 0)
        let history = try await Self.history(store)
        for (got, want) in zip(history, Self.expected()) {
            #expect(samePoints(got, want))
        }
    }
}
