import VigilMetrics

/// The processes a firing alert names: the top three by the rule's resource.
enum ProcessRanking {
    static let count = 3

    static func top(_ processes: MetricsDocument.Processes?, for resource: SeriesSelector.Resource?) -> [ProcessFigure] {
        guard let processes, let resource else { return [] }
        // The agent ranks by CPU and by memory; it sends no per-process I/O, so an I/O alert names
        // the busiest processes by CPU (where I/O-bound work also shows, as system time).
        let list = resource == .memory ? processes.topMemory : processes.topCPU
        return list.prefix(Self.count).map {
            ProcessFigure(pid: $0.pid, name: $0.name, user: $0.user, cpuPercent: $0.cpuPercent, rssBytes: $0.rss)
        }
    }
}
