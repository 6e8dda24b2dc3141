import Synchronization

/// Rollup column names shared by every host with the same series.
///
/// A host's rollup block has five columns per series (`name` + each statistic). Hosts of the same
/// shape have the same series, so one array serves them all: at 10,000 hosts of 101 series,
/// building the 505 names per host held about 490 MB (heaptrack), shared it is one array per shape.
package final class RollupColumnNameCache: Sendable {
    /// Distinct series lists kept at most; beyond it the cache starts over (shapes are few in
    /// practice: hosts differ only in their disks and interfaces).
    static let capacity = 4096

    private let entries = Mutex<[[String]: [String]]>([:])

    package init() {}

    package func columns(for series: [String]) -> [String] {
        if let columns = self.entries.withLock({ $0[series] }) { return columns }
        let columns = series.flatMap(RollupStatistic.columnNames(of:))
        self.entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[series] = columns
        }
        return columns
    }
}
