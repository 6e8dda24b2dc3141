/// The figures of one open rollup bucket (one host, one minute or hour), updated per sample.
///
/// Series are kept in first-seen order; when a sample has exactly the names of the previous one
/// (the usual case) values are added by position without hashing any name. NaN values (a series
/// that had no reading) are not counted; a series seen only as NaN has count 0 and yields no point.
package struct RollupAccumulator: Sendable {
    struct Figures: Sendable {
        var min: Double = .nan
        var max: Double = .nan
        var sum: Double = 0
        var last: Double = .nan
        var count = 0

        /// - Parameter older: The value is older than one already added (back-fill): it does not
        ///   become `last`, unless it is the first.
        @inline(__always)
        mutating func add(_ value: Double, older: Bool = false) {
            guard !value.isNaN else { return }
            if self.count == 0 {
                self.min = value
                self.max = value
            } else {
                if value < self.min { self.min = value }
                if value > self.max { self.max = value }
            }
            self.sum += value
            if !older || self.count == 0 { self.last = value }
            self.count += 1
        }

        var avg: Double { self.count > 0 ? self.sum / Double(self.count) : .nan }
    }

    /// Bucket start, Unix milliseconds.
    package let start: Int64
    package private(set) var names: [String] = []
    private var positions: [String: Int] = [:]  // built on the first sample with different names
    private var figures: [Figures] = []

    package init(start: Int64) {
        self.start = start
    }

    package var isEmpty: Bool { self.names.isEmpty }

    /// Adds a sample older than the newest one added (back-fill): counted in min, max, avg and
    /// count, but `last` stays the newest sample's value.
    package mutating func addOlder(names: [String], values: [Double]) {
        self.add(names: names, values: values, older: true)
    }

    package mutating func add(names: [String], values: [Double], older: Bool = false) {
        if self.names.isEmpty {
            self.names = names
            self.figures = Array(repeating: Figures(), count: names.count)
        }
        if names == self.names {
            self.figures.withUnsafeMutableBufferPointer { figures in
                for index in values.indices { figures[index].add(values[index], older: older) }
            }
            return
        }
        if self.positions.isEmpty {
            self.positions.reserveCapacity(self.names.count + 8)
            for (index, name) in self.names.enumerated() where self.positions[name] == nil {
                self.positions[name] = index
            }
        }
        for (name, value) in zip(names, values) {
            let index: Int
            if let existing = self.positions[name] {
                index = existing
            } else {
                index = self.names.count
                self.positions[name] = index
                self.names.append(name)
                self.figures.append(Figures())
            }
            self.figures[index].add(value, older: older)
        }
    }

    /// The point of one series so far, nil when it has no counted value in this bucket.
    package func point(series: String) -> SeriesPoint? {
        guard let index = self.positions[series] ?? self.names.firstIndex(of: series) else { return nil }
        return self.point(at: index)
    }

    package func point(at index: Int) -> SeriesPoint? {
        let figures = self.figures[index]
        guard figures.count > 0 else { return nil }
        return SeriesPoint(timestamp: MetricTime.seconds(self.start), min: figures.min, max: figures.max,
                           avg: figures.avg, last: figures.last, count: figures.count)
    }

    /// Every series' figures as one rollup row, five values per series in `RollupStatistic` order
    /// (see ``RollupStatistic/columnNames(of:)`` for the matching names).
    package func rowValues() -> [Double] {
        var values: [Double] = []
        values.reserveCapacity(self.names.count * 5)
        for figures in self.figures {
            values.append(figures.min)
            values.append(figures.max)
            values.append(figures.avg)
            values.append(figures.last)
            values.append(Double(figures.count))
        }
        return values
    }
}
