/// One of the processes using most of a resource when an alert fired: the notification says who
/// is eating the host.
public struct ProcessFigure: Codable, Sendable, Equatable {
    public var pid: Int
    public var name: String
    public var user: String
    /// Share of one CPU (can exceed 100 for a multi-threaded process).
    public var cpuPercent: Double?
    /// Resident set size in bytes.
    public var rssBytes: UInt64

    public init(pid: Int, name: String, user: String, cpuPercent: Double?, rssBytes: UInt64) {
        self.pid = pid
        self.name = name
        self.user = user
        self.cpuPercent = cpuPercent
        self.rssBytes = rssBytes
    }

    enum CodingKeys: String, CodingKey {
        case pid, name, user
        case cpuPercent = "cpu_percent"
        case rssBytes = "rss_bytes"
    }
}
