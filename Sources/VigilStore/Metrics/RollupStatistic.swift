/// The five figures a rollup keeps per series and bucket, and how they are named as block columns.
///
/// A rollup row stores each series as five columns named `<series>@min`, `@max`, `@avg`, `@last`,
/// `@count`, so rollup blocks use the same columnar format as raw ones and a query decodes five
/// columns. The suffix is always the last `@` part, so a series whose own name contains `@` still
/// maps back unambiguously.
package enum RollupStatistic: Int, CaseIterable {
    case min, max, avg, last, count

    var suffix: String {
        switch self {
        case .min: "@min"
        case .max: "@max"
        case .avg: "@avg"
        case .last: "@last"
        case .count: "@count"
        }
    }

    /// The five column names of a series, in `allCases` order.
    package static func columnNames(of series: String) -> [String] {
        self.allCases.map { series + $0.suffix }
    }

    /// The series a rollup column belongs to, or nil when the name has no statistic suffix.
    package static func seriesName(ofColumn column: String) -> String? {
        for statistic in self.allCases where column.hasSuffix(statistic.suffix) {
            return String(column.dropLast(statistic.suffix.count))
        }
        return nil
    }
}
