import Foundation
import Hummingbird
import VigilMetrics
import VigilAPI
import VigilStore

/// `GET /api/servers` and `GET /api/servers/{hostname}/…`: every host's figures now and over time.
///
/// Hot reads (the overview, `current`, `disk`, `network`, `processes`) come from the in-memory
/// latest-sample cache; `history` and `stats` from the history store.
struct ServerRoutes: Sendable {
    let tracker: LivenessTracker
    let ingestor: MetricsIngestor
    var latest: LatestMetrics { self.ingestor.latest }
    let history: any MetricsStore
    let store: any VigilStore
    /// The settings in force: `api.max_history_points` and `api.max_stats_metrics` are read per request.
    let live: LiveSettings
    var settings: ServerSettings { self.live.current }
    /// In a cluster, the hosts other members hold: listed with this server's own.
    var remote: RemoteHosts? = nil

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.get("servers") { _, _ in try self.overview() }
        let host = api.group("servers/:hostname")
        host.get("current") { _, context in try self.current(context) }
        host.get("metrics") { _, context in try await self.seriesNames(context) }
        host.get("history") { request, context in try await self.history(request, context) }
        host.get("stats") { request, context in try await self.stats(request, context) }
        host.get("disk") { _, context in try self.section(context) { Disk(hostname: $0, document: $1) } }
        host.get("network") { _, context in try self.section(context) { Network(hostname: $0, document: $1) } }
        host.get("processes") { _, context in try self.section(context) { Processes(hostname: $0, document: $1) } }
        host.get("events") { request, context in try await self.events(request, context) }
    }

    // MARK: Overview

    func overview() throws -> Response {
        let local = self.tracker.snapshot()
        let statuses = self.remote?.merged(local) ?? local
        let samples = self.latest.all()
        var byName: [String: AgentStatus] = [:]
        byName.reserveCapacity(statuses.count)
        for status in statuses { byName[status.hostname] = status }
        let hostnames = Set(byName.keys).union(samples.keys).sorted()
        let summaries = hostnames.map { ServerSummary(hostname: $0, status: byName[$0], latest: samples[$0]) }
        return try JSONResponse.make(summaries)
    }

    // MARK: One host's latest sample

    struct Current: Encodable {
        var hostname: String
        var receivedAt: Date
        var metrics: MetricsDocument

        enum CodingKeys: String, CodingKey {
            case hostname, metrics
            case receivedAt = "received_at"
        }
    }

    func current(_ context: VigilRequestContext) throws -> Response {
        let (hostname, sample) = try self.latestSample(context)
        return try JSONResponse.make(Current(hostname: hostname, receivedAt: sample.receivedAt, metrics: sample.document))
    }

    /// Shaped like ``Network``: totals under `total`, each device under `devices`.
    struct Disk: Encodable {
        var hostname: String
        var timestamp: Date
        var partitions: [MetricsDocument.Disk.Partition]
        var total: MetricsDocument.DiskCounters?
        var devices: [String: MetricsDocument.DiskCounters]

        init(hostname: String, document: MetricsDocument) {
            self.hostname = hostname
            self.timestamp = document.timestamp
            self.partitions = document.disk?.partitions ?? []
            self.total = document.io?.diskIO?.total
            self.devices = document.io?.diskIO?.devices ?? [:]
        }
    }

    struct Network: Encodable {
        var hostname: String
        var timestamp: Date
        var total: MetricsDocument.NetworkCounters?
        var interfaces: [String: MetricsDocument.NetworkCounters]

        init(hostname: String, document: MetricsDocument) {
            self.hostname = hostname
            self.timestamp = document.timestamp
            self.total = document.io?.network?.total
            self.interfaces = document.io?.network?.interfaces ?? [:]
        }
    }

    struct Processes: Encodable {
        var hostname: String
        var timestamp: Date
        var total: Int?
        var topCPU: [MetricsDocument.Processes.Process]
        var topMemory: [MetricsDocument.Processes.Process]

        enum CodingKeys: String, CodingKey {
            case hostname, timestamp, total
            case topCPU = "top_cpu"
            case topMemory = "top_memory"
        }

        init(hostname: String, document: MetricsDocument) {
            self.hostname = hostname
            self.timestamp = document.timestamp
            self.total = document.processes?.total
            self.topCPU = document.processes?.topCPU ?? []
            self.topMemory = document.processes?.topMemory ?? []
        }
    }

    func section(_ context: VigilRequestContext, _ make: (String, MetricsDocument) -> some Encodable) throws -> Response {
        let (hostname, sample) = try self.latestSample(context)
        return try JSONResponse.make(make(hostname, sample.document))
    }

    // MARK: History

    struct Point: Encodable {
        var point: SeriesPoint

        enum CodingKeys: String, CodingKey { case t, value, min, max, last, count }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(self.point.timestamp, forKey: .t)
            try c.encode(self.point.avg, forKey: .value)
            try c.encode(self.point.min, forKey: .min)
            try c.encode(self.point.max, forKey: .max)
            try c.encode(self.point.last, forKey: .last)
            try c.encode(self.point.count, forKey: .count)
        }
    }

    struct History: Encodable {
        var hostname: String
        var metric: String
        var resolution: String
        var step: Double?
        var from: Date
        var to: Date
        var points: [Point]
    }

    func history(_ request: Request, _ context: VigilRequestContext) async throws -> Response {
        let hostname = try self.knownHost(context)
        let parameters = request.uri.queryParameters
        guard let metric = parameters["metric"].map(String.init), !metric.isEmpty else {
            throw APIError(.badRequest, "missing_parameter", "metric is required, e.g. metric=cpu.percent; GET /api/servers/\(hostname)/metrics lists them")
        }
        let query = try HistoryQuery(parameters, now: Date().timeIntervalSince1970, retention: self.settings.retention)
        let series = MetricsDocument.canonicalSeriesName(metric)
        var points = try await self.history.points(hostname: hostname, series: series, from: query.storeFrom, to: query.to, resolution: query.resolution, limit: self.settings.maxHistoryPoints)
        if points.isEmpty, try await !self.history.seriesNames(hostname: hostname).contains(series) {
            throw APIError(.notFound, "unknown_metric", "host \(hostname) has no series \(series.debugDescription); GET /api/servers/\(hostname)/metrics lists them")
        }
        // Checked on what was read, before any re-bucketing: the store stops reading past the limit.
        try self.checkPointLimit(points.count)
        if let step = query.step { points = HistoryQuery.rebucket(points, step: step) }
        return try JSONResponse.make(History(
            hostname: hostname, metric: series, resolution: query.resolution.name, step: query.step,
            from: Date(timeIntervalSince1970: query.from), to: Date(timeIntervalSince1970: query.to),
            points: points.map(Point.init)
        ))
    }

    struct Stats: Encodable {
        var hostname: String
        var resolution: String
        var from: Date
        var to: Date
        var metrics: [String: Summary]

        struct Summary: Encodable {
            var min: Double?
            var max: Double?
            var avg: Double?
            var last: Double?
            var count: Int

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(self.min, forKey: .min)
                try c.encode(self.max, forKey: .max)
                try c.encode(self.avg, forKey: .avg)
                try c.encode(self.last, forKey: .last)
                try c.encode(self.count, forKey: .count)
            }

            enum CodingKeys: String, CodingKey { case min, max, avg, last, count }

            init(_ points: [SeriesPoint]) {
                let count = points.reduce(0) { $0 + $1.count }
                self.count = count
                self.min = points.map(\.min).min()
                self.max = points.map(\.max).max()
                self.last = points.last?.last
                self.avg = count == 0 ? nil : points.reduce(0.0) { $0 + $1.avg * Double($1.count) } / Double(count)
            }
        }
    }

    /// The series `/stats` reports when no `metric` is given.
    static let defaultStatsSeries = ["cpu.cpu_percent_total", "cpu.load_average[0]", "memory.memory_percent", "memory.swap_percent"]

    func stats(_ request: Request, _ context: VigilRequestContext) async throws -> Response {
        let hostname = try self.knownHost(context)
        let parameters = request.uri.queryParameters
        let query = try HistoryQuery(parameters, now: Date().timeIntervalSince1970, retention: self.settings.retention, defaultRange: 86_400)
        var names = parameters.getAll("metric").map(MetricsDocument.canonicalSeriesName)
        if names.isEmpty { names = Self.defaultStatsSeries }
        guard names.count <= self.settings.maxStatsMetrics else {
            throw APIError(.badRequest, "invalid_parameter", "at most \(self.settings.maxStatsMetrics) metric parameters per request (api.max_stats_metrics)")
        }
        var metrics: [String: Stats.Summary] = [:]
        for name in names {
            let points = try await self.history.points(hostname: hostname, series: name, from: query.storeFrom, to: query.to, resolution: query.resolution, limit: self.settings.maxHistoryPoints)
            try self.checkPointLimit(points.count)
            metrics[name] = Stats.Summary(points)
        }
        return try JSONResponse.make(Stats(
            hostname: hostname, resolution: query.resolution.name,
            from: Date(timeIntervalSince1970: query.from), to: Date(timeIntervalSince1970: query.to), metrics: metrics
        ))
    }

    struct SeriesList: Encodable {
        var hostname: String
        var series: [String]
        var aliases: [String: String]
    }

    func seriesNames(_ context: VigilRequestContext) async throws -> Response {
        let hostname = try self.knownHost(context)
        return try JSONResponse.make(SeriesList(hostname: hostname, series: try await self.history.seriesNames(hostname: hostname), aliases: MetricsDocument.seriesAliases))
    }

    func events(_ request: Request, _ context: VigilRequestContext) async throws -> Response {
        try await APIRoutes.events(request.uri.queryParameters, hostname: try self.knownHost(context), store: self.store)
    }

    // MARK: Helpers

    /// A read over `api.max_history_points` was cut short by the store: refuse rather than answer
    /// with part of the range.
    private func checkPointLimit(_ count: Int) throws {
        guard count <= self.settings.maxHistoryPoints else {
            throw APIError(.badRequest, "too_many_points", "the range holds more than \(self.settings.maxHistoryPoints) points at this resolution (api.max_history_points); ask for a larger step or a shorter range")
        }
    }

    /// The `hostname` path parameter, if the server knows that host (from liveness, its latest
    /// sample, or the history it has, which a restart finds before the latest document is saved).
    private func knownHost(_ context: VigilRequestContext) throws -> String {
        let hostname = try context.parameters.require("hostname")
        guard self.latest.sample(for: hostname) != nil || self.tracker.status(of: hostname) != nil || self.ingestor.knows(host: hostname)
            || self.remote?.status(of: hostname, local: nil) != nil else {
            throw APIError(.notFound, "not_found", "no host named \(hostname.prefix(253).debugDescription)")
        }
        return hostname
    }

    private func latestSample(_ context: VigilRequestContext) throws -> (String, LatestSample) {
        let hostname = try self.knownHost(context)
        guard let sample = self.latest.sample(for: hostname) else {
            throw APIError(.notFound, "no_samples", "host \(hostname) has sent no metrics yet")
        }
        return (hostname, sample)
    }
}
