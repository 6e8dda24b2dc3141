import Synchronization

/// Metrics history in memory only (`storage: memory`): the last `capacity` samples of each host.
///
/// Nothing touches the disk and nothing survives a restart. Rollups are not stored: minute and hour
/// points are aggregated from the ring when asked for, with the same semantics as
/// ``SQLiteMetricsStore`` (bucket start timestamps, NaN values not counted), so they only reach as
/// far back as the ring does. Timestamps are kept as whole milliseconds, as on disk.
public final class MemoryMetricsStore: MetricsStore {
    struct State: Sendable {
        var rings: [String: SampleRing] = [:]
        var latest: [String: LatestDocument] = [:]
    }

    /// Samples kept per host.
    public let capacity: Int
    let state = Mutex(State())

    public init(capacity: Int = 1000) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
    }

    @discardableResult
    public func append(_ samples: [MetricSample]) async throws -> Int {
        var order: [(ms: Int64, index: Int)] = []
        order.reserveCapacity(samples.count)
        for (index, sample) in samples.enumerated() where sample.isStorable {
            if let ms = MetricTime.milliseconds(sample.timestamp) { order.append((ms, index)) }
        }
        order.sort { $0.ms != $1.ms ? $0.ms < $1.ms : $0.index < $1.index }
        let batch = order
        return self.state.withLock { state in
            var stored = 0
            for entry in batch {
                let sample = samples[entry.index]
                var ring = state.rings.removeValue(forKey: sample.hostname) ?? SampleRing(capacity: self.capacity)
                if entry.ms > ring.newestMs ?? .min {
                    ring.append(.init(ms: entry.ms, names: sample.names, values: sample.values))
                    stored += 1
                } else if ring.insert(.init(ms: entry.ms, names: sample.names, values: sample.values)) {
                    // Back-fill, once per millisecond (see `MetricsStore.append`).
                    stored += 1
                }
                state.rings[sample.hostname] = ring
            }
            return stored
        }
    }

    public func newestSampleTimes() async throws -> [String: Double] {
        self.state.withLock { state in
            state.rings.compactMapValues { ring in ring.newestMs.map(MetricTime.seconds) }
        }
    }

    /// `limit` needs no early stop here: the ring bounds the work.
    public func points(hostname: String, series: String, from: Double, to: Double, resolution: MetricResolution, limit: Int) async throws -> [SeriesPoint] {
        guard let range = MetricTime.range(from: from, to: to),
              let ring = self.state.withLock({ $0.rings[hostname] }) else { return [] }
        var points: [SeriesPoint] = []
        guard resolution != .raw else {
            ring.forEach { entry in
                guard range.contains(entry.ms), let column = entry.names.firstIndex(of: series) else { return }
                points.append(SeriesPoint(timestamp: MetricTime.seconds(entry.ms), value: entry.values[column]))
            }
            return points
        }
        let key = [series]
        var bucket: RollupAccumulator?
        ring.forEach { entry in
            let start = MetricTime.bucketStart(entry.ms, resolution)
            guard range.contains(start), let column = entry.names.firstIndex(of: series) else { return }
            if let open = bucket, open.start != start {
                if let point = open.point(at: 0) { points.append(point) }
                bucket = nil
            }
            if bucket == nil { bucket = RollupAccumulator(start: start) }
            bucket!.add(names: key, values: [entry.values[column]])
        }
        if let point = bucket?.point(at: 0) { points.append(point) }
        return points
    }

    public func seriesNames(hostname: String) async throws -> [String] {
        guard let ring = self.state.withLock({ $0.rings[hostname] }) else { return [] }
        var names = Set<String>()
        ring.forEach { names.formUnion($0.names) }
        return names.sorted()
    }

    public func saveLatest(_ documents: [LatestDocument]) async throws {
        self.state.withLock { state in
            for document in documents { state.latest[document.hostname] = document }
        }
    }

    public func latestDocuments() async throws -> [LatestDocument] {
        self.state.withLock { $0.latest.values.sorted { $0.hostname < $1.hostname } }
    }

    /// Retention is the ring: nothing else to delete.
    @discardableResult
    public func enforceRetention(now: Double) async throws -> RetentionResult {
        RetentionResult(deletedBlocks: 0)
    }

    /// Raw values in the rings at 8 bytes each, one "block" per host ring; rollups are not stored.
    public func statistics() async throws -> MetricsStorageStatistics {
        self.state.withLock { state in
            var values: Int64 = 0
            for ring in state.rings.values {
                ring.forEach { values += Int64($0.values.count) }
            }
            return MetricsStorageStatistics(raw: .init(values: values, bytes: values * 8, blocks: Int64(state.rings.count)))
        }
    }

    /// Nothing to write: memory mode keeps nothing across restarts.
    public func flush() async throws {}
}
