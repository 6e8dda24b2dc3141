import Foundation
import VigilMetrics
import VigilAPI
import VigilStore

/// One host in `GET /api/servers`: liveness and the headline figures of its latest sample.
struct ServerSummary: Encodable {
    var hostname: String
    /// The liveness state; `nil` for a host that only posts metrics over HTTP and never connected.
    var state: LivenessState?
    var connected: Bool
    /// The last frame or sample received from the host.
    var lastSeen: Date?
    var agentVersion: String?
    /// In a cluster, the member holding the host's connection; `nil` when none does, and on a single server.
    var member: String?
    /// The host's timestamp of its latest sample.
    var lastSample: Date?
    var cpuPercent: Double?
    var cpuCount: Int?
    var load1: Double?
    var memoryPercent: Double?
    var memoryUsed: UInt64?
    var memoryTotal: UInt64?
    var swapPercent: Double?
    var disk: DiskSummary?
    var os: String?
    var uptime: Double?

    /// Filesystems added up, plus the fullest one (the figure that pages someone).
    struct DiskSummary: Encodable {
        var total: UInt64
        var used: UInt64
        var free: UInt64
        var percent: Double
        var fullestMountpoint: String?
        var fullestPercent: Double?

        enum CodingKeys: String, CodingKey {
            case total, used, free, percent
            case fullestMountpoint = "fullest_mountpoint"
            case fullestPercent = "fullest_percent"
        }

        init?(_ disk: MetricsDocument.Disk?) {
            guard let partitions = disk?.partitions, !partitions.isEmpty else { return nil }
            self.total = partitions.reduce(0) { $0 &+ $1.total }
            self.used = partitions.reduce(0) { $0 &+ $1.used }
            self.free = partitions.reduce(0) { $0 &+ $1.free }
            let usable = self.used &+ self.free
            self.percent = usable == 0 ? 0 : (Double(self.used) / Double(usable) * 10_000).rounded() / 100
            let fullest = partitions.max { $0.percent < $1.percent }
            self.fullestMountpoint = fullest?.mountpoint
            self.fullestPercent = fullest?.percent
        }
    }

    enum CodingKeys: String, CodingKey {
        case hostname, state, connected, disk, os, uptime, member
        case lastSeen = "last_seen"
        case agentVersion = "agent_version"
        case lastSample = "last_sample"
        case cpuPercent = "cpu_percent"
        case cpuCount = "cpu_count"
        case load1 = "load_1"
        case memoryPercent = "memory_percent"
        case memoryUsed = "memory_used"
        case memoryTotal = "memory_total"
        case swapPercent = "swap_percent"
    }

    // Nulls are written out, so every host has the same keys (easier for tables and for the schema).
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(self.hostname, forKey: .hostname)
        try c.encode(self.state, forKey: .state)
        try c.encode(self.connected, forKey: .connected)
        try c.encode(self.lastSeen, forKey: .lastSeen)
        try c.encode(self.agentVersion, forKey: .agentVersion)
        try c.encode(self.member, forKey: .member)
        try c.encode(self.lastSample, forKey: .lastSample)
        try c.encode(self.cpuPercent, forKey: .cpuPercent)
        try c.encode(self.cpuCount, forKey: .cpuCount)
        try c.encode(self.load1, forKey: .load1)
        try c.encode(self.memoryPercent, forKey: .memoryPercent)
        try c.encode(self.memoryUsed, forKey: .memoryUsed)
        try c.encode(self.memoryTotal, forKey: .memoryTotal)
        try c.encode(self.swapPercent, forKey: .swapPercent)
        try c.encode(self.disk, forKey: .disk)
        try c.encode(self.os, forKey: .os)
        try c.encode(self.uptime, forKey: .uptime)
    }

    init(hostname: String, status: AgentStatus?, latest: LatestSample?) {
        self.hostname = hostname
        self.state = status?.state
        self.connected = status?.connected ?? false
        self.agentVersion = status?.agentVersion
        self.member = status?.member
        let document = latest?.document
        self.lastSeen = [status?.lastSeen, latest?.receivedAt].compactMap { $0 }.max()
        self.lastSample = document?.timestamp
        self.cpuPercent = document?.cpu?.cpuPercentTotal
        self.cpuCount = document?.cpu?.cpuCountLogical
        self.load1 = document?.cpu?.loadAverage?.first
        self.memoryPercent = document?.memory?.memoryPercent
        self.memoryUsed = document?.memory?.memoryUsed
        self.memoryTotal = document?.memory?.memoryTotal
        self.swapPercent = document?.memory?.swapPercent
        self.disk = DiskSummary(document?.disk)
        self.os = document?.system?.os
        self.uptime = document?.system?.uptime
    }
}
