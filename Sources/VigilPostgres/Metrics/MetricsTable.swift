import VigilStore

/// The partitioned tables of the metrics history: per level (raw, minute, hour) a head table (the
/// rows of open blocks, one per sample or bucket) and a blocks table (sealed, encoded blocks).
///
/// Head tables are partitioned on the row time (`ts_ms`), block tables on the block's last row time
/// (`end_ms`): a partition whose upper bound is at or before a retention cutoff holds only rows and
/// blocks wholly older than the cutoff, so dropping it never removes data still within retention.
struct MetricsTable: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        case head
        case blocks
    }

    let resolution: MetricResolution
    let kind: Kind

    static let all: [MetricsTable] = MetricResolution.allCases.flatMap { [MetricsTable(resolution: $0, kind: .head), MetricsTable(resolution: $0, kind: .blocks)] }

    var name: String {
        let level = switch self.resolution {
        case .raw: "raw"
        case .minute: "minute"
        case .hour: "hour"
        }
        return "metrics_\(level)_\(self.kind == .head ? "head" : "blocks")"
    }

    /// The partition of this table holding partition index `index` (time / span, floored).
    func partitionName(_ index: Int64) -> String {
        self.name + (index < 0 ? "_pm\(-index)" : "_p\(index)")
    }
}

/// One partition to have: a table and the index of its span.
struct MetricsPartition: Hashable, Sendable {
    let table: MetricsTable
    let index: Int64

    var name: String { self.table.partitionName(self.index) }

    static func index(of ms: Int64, span: Int64) -> Int64 {
        let quotient = ms / span
        return quotient * span > ms ? quotient - 1 : quotient
    }
}
