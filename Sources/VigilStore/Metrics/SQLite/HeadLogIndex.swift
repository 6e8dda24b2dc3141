/// Which rows of one level's head log are live: the first and last row id of each host's open
/// block, kept flat so compaction finds the oldest open block without touching the hosts' state.
struct HeadLogIndex: Sendable {
    struct Span: Sendable {
        var first: Int64
        var last: Int64
    }

    private(set) var open: [Int64: Span] = [:]

    /// A row was appended to a host's open block (its first when the block is new).
    mutating func appended(hostID: Int64, seq: Int64) {
        if self.open[hostID] != nil {
            self.open[hostID]!.last = seq
        } else {
            self.open[hostID] = Span(first: seq, last: seq)
        }
    }

    /// A host's open block was sealed or discarded.
    mutating func closed(hostID: Int64) {
        self.open[hostID] = nil
    }

    /// The newest live row id, or nil when no block is open.
    var newest: Int64? {
        self.open.values.lazy.map(\.last).max()
    }
}
