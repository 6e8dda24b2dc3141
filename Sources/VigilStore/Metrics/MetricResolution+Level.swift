extension MetricResolution {
    /// Index of the level in per-resolution arrays: raw 0, minute 1, hour 2.
    package var level: Int {
        switch self {
        case .raw: 0
        case .minute: 1
        case .hour: 2
        }
    }

    package static let rollups: [MetricResolution] = [.minute, .hour]
}
