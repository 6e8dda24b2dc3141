extension MetricsStorageStatistics {
    /// The level of one resolution.
    package subscript(resolution: MetricResolution) -> Level {
        get {
            switch resolution {
            case .raw: self.raw
            case .minute: self.minute
            case .hour: self.hour
            }
        }
        set {
            switch resolution {
            case .raw: self.raw = newValue
            case .minute: self.minute = newValue
            case .hour: self.hour = newValue
            }
        }
    }
}
