extension MetricSample {
    /// The most series one sample may have: its rollup rows hold five columns per series, and a
    /// block holds at most ``MetricsBlock/maximumColumns``.
    package static let maximumSeries = MetricsBlock.maximumColumns / RollupStatistic.allCases.count

    /// Whether a store can keep this sample: it has at least one series, no more than
    /// ``maximumSeries``, and as many values as names (the fields are mutable, so the initialiser's
    /// check alone does not guarantee it). The stores drop other samples rather than fail a batch.
    package var isStorable: Bool {
        !self.names.isEmpty && self.names.count == self.values.count && self.names.count <= Self.maximumSeries
    }
}
