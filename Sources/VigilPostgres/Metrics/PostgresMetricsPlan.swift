import NIOCore
import VigilStore

/// The writes of one statement, planned in memory on copies of the hosts' states: head rows per
/// level, new shapes, the hosts' claims, and which (host, level) have rows to seal afterwards. It
/// mirrors ``SQLiteMetricsStore``'s writer: same dropping of old samples, same buckets, same
/// sealing points (a full block, a change of columns).
struct PostgresMetricsPlan {
    struct Row {
        var hostname: String
        var ms: Int64
        var shape: Int64
        var values: [Double]
    }

    let blockRows: [Int]
    let shapes: MetricsShapeRegistry
    let columnNames: RollupColumnNameCache
    /// New head rows, indexed by ``MetricResolution/level``.
    var rows: [[Row]] = [[], [], []]
    /// Shapes to insert (not yet known to be stored).
    var newShapes: [Int64: [UInt8]] = [:]
    /// Hosts with rows to seal, per level.
    var sealing: [Set<String>] = [[], [], []]
    /// Closed rollup buckets back-filled samples fell in, recomputed from raw rows after the write.
    var dirty: Set<DirtyBucket> = []

    struct DirtyBucket: Hashable {
        var hostname: String
        var resolution: MetricResolution
        var startMs: Int64
    }

    init(blockRows: [Int], shapes: MetricsShapeRegistry, columnNames: RollupColumnNameCache) {
        self.blockRows = blockRows
        self.shapes = shapes
        self.columnNames = columnNames
    }

    var isEmpty: Bool { self.rows.allSatisfy(\.isEmpty) && self.dirty.isEmpty }

    /// Plans one sample (already in milliseconds) and rolls it into the open buckets.
    /// - Returns: false when the sample is not newer than the host's newest and was dropped.
    mutating func append(_ sample: MetricSample, at ms: Int64, host: inout PostgresMetricsHostState) -> Bool {
        guard ms > host.newestRawMs else { return false }
        self.appendRow(.raw, hostname: sample.hostname, host: &host, at: ms, names: sample.names, values: sample.values)
        host.newestRawMs = ms
        for resolution in MetricResolution.rollups {
            let start = MetricTime.bucketStart(ms, resolution)
            if let bucket = host.bucket(resolution), bucket.start < start {
                self.close(bucket, resolution, hostname: sample.hostname, host: &host)
            }
            if host.bucket(resolution) == nil {
                // A bucket already written (closed early by retention as stale) is not reopened.
                guard start > host.levels[resolution.level].lastRowMs else { continue }
                host.setBucket(RollupAccumulator(start: start), resolution)
            }
            if resolution == .hour {
                host.hourBucket!.add(names: sample.names, values: sample.values)
            } else {
                host.minuteBucket!.add(names: sample.names, values: sample.values)
            }
        }
        return true
    }

    /// Plans a sample older than the host's newest and not stored yet (back-fill): a raw head row
    /// in its place in time (the sealer cuts blocks from the rows sorted by time), counted in the
    /// open bucket it falls in without changing `last`, or marking the closed bucket for recompute.
    mutating func backfill(_ sample: MetricSample, at ms: Int64, host: inout PostgresMetricsHostState) {
        let (id, encoded) = self.shapes.id(of: sample.names)
        if !self.shapes.isStored(id) { self.newShapes[id] = encoded }
        self.rows[MetricResolution.raw.level].append(Row(hostname: sample.hostname, ms: ms, shape: id, values: sample.values))
        host.levels[MetricResolution.raw.level].headRows += 1  // more rows than the open run: the sealer re-cuts
        self.sealing[MetricResolution.raw.level].insert(sample.hostname)
        for resolution in MetricResolution.rollups {
            let start = MetricTime.bucketStart(ms, resolution)
            if var bucket = host.bucket(resolution), bucket.start == start {
                host.setBucket(nil, resolution)
                bucket.addOlder(names: sample.names, values: sample.values)
                host.setBucket(bucket, resolution)
            } else {
                self.dirty.insert(DirtyBucket(hostname: sample.hostname, resolution: resolution, startMs: start))
            }
        }
    }

    /// Plans a finished bucket as one row of its rollup level and forgets it.
    mutating func close(_ bucket: RollupAccumulator, _ resolution: MetricResolution, hostname: String, host: inout PostgresMetricsHostState) {
        host.setBucket(nil, resolution)
        guard !bucket.isEmpty else { return }
        let columns = host.rollupColumnNames(for: bucket.names, shared: self.columnNames)
        self.appendRow(resolution, hostname: hostname, host: &host, at: bucket.start, names: columns, values: bucket.rowValues())
    }

    /// Adds a head row to a level; a change of columns ends the open run and a full run is a block:
    /// both leave rows to seal.
    mutating func appendRow(_ resolution: MetricResolution, hostname: String, host: inout PostgresMetricsHostState, at ms: Int64, names: [String], values: [Double]) {
        let level = resolution.level
        if host.levels[level].openShape == nil || names != host.levels[level].openColumns {
            let (id, encoded) = self.shapes.id(of: names)
            if !self.shapes.isStored(id) { self.newShapes[id] = encoded }
            if host.levels[level].openShape != id {
                host.levels[level].openRows = 0
            }
            host.levels[level].openShape = id
            host.levels[level].openColumns = names
        }
        self.rows[level].append(Row(hostname: hostname, ms: ms, shape: host.levels[level].openShape!, values: values))
        host.levels[level].headRows += 1
        host.levels[level].openRows += 1
        if host.levels[level].openRows >= self.blockRows[level] { host.levels[level].openRows = 0 }
        host.levels[level].lastRowMs = ms
        if host.levels[level].needsSeal { self.sealing[level].insert(hostname) }
    }

    /// The partitions its rows go to.
    func partitions(_ options: PostgresMetricsOptions) -> Set<MetricsPartition> {
        var needed: Set<MetricsPartition> = []
        for resolution in MetricResolution.allCases {
            let span = options.partitionMilliseconds(resolution)
            var indices: Set<Int64> = []
            for row in self.rows[resolution.level] { indices.insert(MetricsPartition.index(of: row.ms, span: span)) }
            for index in indices {
                needed.insert(MetricsPartition(table: MetricsTable(resolution: resolution, kind: .head), index: index))
                needed.insert(MetricsPartition(table: MetricsTable(resolution: resolution, kind: .blocks), index: index))
            }
        }
        return needed
    }

    /// A head row's values as stored: 8-byte little-endian doubles (``HeadRow``'s layout).
    static func encode(_ values: [Double]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(values.count * 8)
        for value in values { buffer.writeInteger(value.bitPattern, endianness: .little) }
        return buffer
    }

    static func decode(_ buffer: ByteBuffer, columns: Int) throws -> [Double] {
        guard buffer.readableBytes == columns * 8 else {
            throw MetricsCodecError.corrupt("head row has \(buffer.readableBytes) bytes for \(columns) columns")
        }
        return buffer.withUnsafeReadableBytes { bytes in
            (0..<columns).map { HeadRow.value(at: $0, in: bytes) }
        }
    }
}
