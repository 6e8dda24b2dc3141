/// A sealed block of metrics history as stored: the ``MetricsBlock`` payload is the same format in
/// both backends, so `vigil migrate` copies it without decoding its values.
package struct ExportedMetricsBlock: Sendable {
    package var startMs: Int64
    package var endMs: Int64
    package var rows: Int
    package var columns: Int
    package var data: [UInt8]

    package init(startMs: Int64, endMs: Int64, rows: Int, columns: Int, data: [UInt8]) {
        self.startMs = startMs
        self.endMs = endMs
        self.rows = rows
        self.columns = columns
        self.data = data
    }
}

/// A row of an open block (a raw sample, or a closed minute or hour bucket not sealed yet).
package struct ExportedMetricsRow: Sendable {
    package var ms: Int64
    package var names: [String]
    package var values: [Double]

    package init(ms: Int64, names: [String], values: [Double]) {
        self.ms = ms
        self.names = names
        self.values = values
    }
}

/// A closed rollup bucket whose stored figures still lack back-filled samples (the SQLite store
/// recomputes it seconds after the replay; the copy has it recomputed in PostgreSQL).
package struct ExportedDirtyBucket: Sendable, Hashable {
    package var hostname: String
    package var resolution: MetricResolution
    package var startMs: Int64

    package init(hostname: String, resolution: MetricResolution, startMs: Int64) {
        self.hostname = hostname
        self.resolution = resolution
        self.startMs = startMs
    }
}

/// Rows of one host's history per level (raw samples, minute buckets, hour buckets), indexed by
/// ``MetricResolution/level``: what `vigil migrate` compares on both sides.
package struct MetricsRowCounts: Sendable, Equatable {
    package var levels: [Int64] = [0, 0, 0]

    package init(levels: [Int64] = [0, 0, 0]) {
        self.levels = levels
    }
}
