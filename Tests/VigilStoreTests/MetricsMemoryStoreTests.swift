import Foundation
import Testing
@testable import VigilStore

@Suite("MemoryMetricsStore")
struct MetricsMemoryStoreTests {
    @Test("the ring keeps exactly the last N samples of each host")
    func ring() async throws {
        let store = MemoryMetricsStore(capacity: 5)
        let input = samples(count: 12) { [Double($0), -Double($0)] }
        #expect(try await store.append(Array(input[0..<3])) == 3)
        #expect(try await store.append(Array(input[3...])) == 9)
        try await store.append(samples(host: "other", count: 2) { [Double($0), 0] })
        let points = try await store.points(hostname: "web-1", series: "cpu", from: 0, to: .infinity, resolution: .raw)
        #expect(points == expectedRawPoints(Array(input[7...]), series: "cpu"))
        #expect(try await store.points(hostname: "other", series: "cpu", from: 0, to: .infinity, resolution: .raw).count == 2)
        let statistics = try await store.statistics()
        #expect(statistics == MetricsStorageStatistics(raw: .init(values: (5 + 2) * 2, bytes: (5 + 2) * 2 * 8, blocks: 2)))
        #expect(try await store.enforceRetention(now: 1e12).deletedBlocks == 0)
    }

    @Test("minute and hour points aggregate the ring exactly like the SQLite store")
    func aggregatesLikeSQLite() async throws {
        // 00:58:00 to 01:01:55 every 5 s, with series coming and going and NaN readings.
        let start = metricsEpoch + 58 * 60
        let input = (0..<48).map { index in
            let names = index < 30 ? ["cpu", "mem"] : ["mem", "cpu", "disk"]
            let values = names.map { name -> Double in
                switch name {
                case "cpu": Double((index * 37) % 11) * 1.5 - 3
                case "mem": index % 13 == 0 ? .nan : Double(index) / 4
                default: 42
                }
            }
            return MetricSample(hostname: "web-1", timestamp: start + Double(index) * 5, names: names, values: values)
        }
        let memory = MemoryMetricsStore(capacity: 100)
        try await memory.append(input)
        try await withMetricsStore(rawBlockRows: 7, minuteBlockRows: 2, hourBlockRows: 2) { sqlite, _ in
            for sample in input { try await sqlite.append([sample]) }
            for series in ["cpu", "mem", "disk"] {
                for resolution in MetricResolution.allCases {
                    for (from, to) in [(0.0, Double.infinity), (start + 60, start + 180), (start + 3, start + 4)] {
                        let fromMemory = try await memory.points(hostname: "web-1", series: series, from: from, to: to, resolution: resolution)
                        let fromSQLite = try await sqlite.points(hostname: "web-1", series: series, from: from, to: to, resolution: resolution)
                        #expect(samePoints(fromMemory, fromSQLite), "\(series) \(resolution) \(from)…\(to)")
                    }
                }
            }
            #expect(try await memory.seriesNames(hostname: "web-1") == ["cpu", "disk", "mem"])
            #expect(try await sqlite.seriesNames(hostname: "web-1") == ["cpu", "disk", "mem"])
        }
        let minutes = try await memory.points(hostname: "web-1", series: "cpu", from: 0, to: .infinity, resolution: .minute)
        #expect(minutes == expectedRollup(input, series: "cpu", bucketSeconds: 60))
        #expect(minutes.count == 4)
        let hours = try await memory.points(hostname: "web-1", series: "mem", from: 0, to: .infinity, resolution: .hour)
        #expect(hours == expectedRollup(input, series: "mem", bucketSeconds: 3600))
    }

    @Test("duplicate and timeless samples are dropped; an older one is back-filled")
    func drops() async throws {
        let store = MemoryMetricsStore()
        func sample(_ t: Double) -> MetricSample { MetricSample(hostname: "h", timestamp: metricsEpoch + t, names: ["v"], values: [t]) }
        #expect(try await store.append([sample(20), sample(10)]) == 2)
        #expect(try await store.append([sample(20), sample(5), sample(.nan), sample(30)]) == 2)
        let points = try await store.points(hostname: "h", series: "v", from: 0, to: .infinity, resolution: .raw)
        #expect(points.map(\.avg) == [5, 10, 20, 30])
        #expect(try await store.points(hostname: "nobody", series: "v", from: 0, to: .infinity, resolution: .raw).isEmpty)
        #expect(try await store.seriesNames(hostname: "nobody").isEmpty)
    }

    @Test("latest documents replace per host and read back sorted")
    func latest() async throws {
        let store = MemoryMetricsStore()
        let a = LatestDocument(hostname: "a", timestamp: 1, json: [1])
        let b = LatestDocument(hostname: "b", timestamp: 2, json: [2])
        try await store.saveLatest([b, a])
        let newerA = LatestDocument(hostname: "a", timestamp: 3, json: [3])
        try await store.saveLatest([newerA])
        #expect(try await store.latestDocuments() == [newerA, b])
        try await store.flush()
        #expect(try await store.statistics().fileBytes == 0)
    }

    @Test("appends from many tasks at once all land")
    func concurrency() async throws {
        let store = MemoryMetricsStore(capacity: 1000)
        let stored = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var stored = 0
                    for index in 0..<100 {
                        stored += try await store.append([MetricSample(hostname: "h\(task)", timestamp: metricsEpoch + Double(index), names: ["v"], values: [Double(index)])])
                    }
                    return stored
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(stored == 800)
        for task in 0..<8 {
            #expect(try await store.points(hostname: "h\(task)", series: "v", from: 0, to: .infinity, resolution: .raw).map(\.avg) == (0..<100).map(Double.init))
        }
    }
}
