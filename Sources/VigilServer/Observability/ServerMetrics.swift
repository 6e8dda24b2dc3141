import Prometheus
import Synchronization
import VigilProtocol

/// The server's own figures, as `GET /metrics` shows them: one Prometheus registry per server.
///
/// Not `MetricsSystem.bootstrap`: that is process-wide state, and tests run many servers in one
/// process. Each ``VigilServer`` owns one of these and hands it to the parts that count.
///
/// The handles are made through the registry's descriptor API rather than through swift-metrics'
/// `Counter(label:dimensions:factory:)`: swift-metrics has no help text, and a family without
/// `# HELP` fails `promtool check metrics` (and the registry refuses to mix the two for one name).
///
/// The hot paths (a heartbeat, a decoded frame, a stored batch) touch a handle made in advance, so
/// they cost one atomic add. Figures that already live elsewhere as counts (open connections,
/// the ingest queue) are copied into gauges at scrape time (``update(_:)``), not tracked twice.
/// Label sets that depend on what happens (error codes, HTTP routes, notification channels) are
/// made on first use and kept; every such label comes from a closed set, never from a peer.
public final class ServerMetrics: Sendable {
    /// Everything registered here is what `GET /metrics` emits.
    public let registry: PrometheusCollectorRegistry

    private let heartbeats: Counter
    private let framesByType: [MessageType: Counter]
    private let fileDataFrames: Counter
    private let invalidFrames: Counter
    private let samplesStored: Counter
    private let detectionLatency: ValueHistogram
    private let fleetRender: ValueHistogram
    private let handshakingConnections: Gauge
    private let registeredConnections: Gauge
    private let sessionsByKind: [ClientKind: Gauge]
    private let httpConnections: Gauge
    private let streamClients: Gauge
    private let ingestQueue: Gauge
    private let protocolErrors = Mutex<[String: Counter]>([:])
    private let httpRequests = Mutex<[String: ValueHistogram]>([:])
    private let notifications = Mutex<[String: Counter]>([:])
    private let firing = Mutex<[String: Gauge]>([:])

    public init(version: String = VigilServer.version) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.heartbeats = registry.makeCounter(descriptor: Self.describe(Names.heartbeats))
        self.framesByType = Dictionary(uniqueKeysWithValues: MessageType.allCases.map {
            ($0, registry.makeCounter(descriptor: Self.describe(Names.frames), labels: [("type", $0.rawValue)]))
        })
        self.fileDataFrames = registry.makeCounter(descriptor: Self.describe(Names.frames), labels: [("type", "FILE_DATA")])
        self.invalidFrames = registry.makeCounter(descriptor: Self.describe(Names.frames), labels: [("type", "invalid")])
        self.samplesStored = registry.makeCounter(descriptor: Self.describe(Names.samplesStored))
        self.detectionLatency = registry.makeValueHistogram(descriptor: Self.describe(Names.detection), buckets: [0.5, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 30, 60, 120, 300])
        self.fleetRender = registry.makeValueHistogram(descriptor: Self.describe(Names.fleetRender), buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1])
        self.handshakingConnections = registry.makeGauge(descriptor: Self.describe(Names.agentConnections), labels: [("phase", "handshake")])
        self.registeredConnections = registry.makeGauge(descriptor: Self.describe(Names.agentConnections), labels: [("phase", "registered")])
        self.sessionsByKind = Dictionary(uniqueKeysWithValues: ClientKind.allCases.map {
            ($0, registry.makeGauge(descriptor: Self.describe(Names.sessions), labels: [("kind", $0.rawValue)]))
        })
        self.httpConnections = registry.makeGauge(descriptor: Self.describe(Names.httpConnections))
        self.streamClients = registry.makeGauge(descriptor: Self.describe(Names.streamClients))
        self.ingestQueue = registry.makeGauge(descriptor: Self.describe(Names.ingestQueue))
        registry.makeGauge(descriptor: Self.describe(Names.buildInfo), labels: [("version", version)]).set(Double(1))
        // Shown at 0 before the first alert, so a dashboard has the series from the start.
        for severity in ["warning", "critical"] { self.setAlertsFiring(0, severity: severity) }
    }

    // MARK: Hot paths

    /// A heartbeat arrived on an agent connection.
    func heartbeatReceived() {
        self.heartbeats.increment()
    }

    /// A frame arrived on an agent connection, parsed or not.
    func frameReceived(_ frame: ParsedFrame) {
        switch frame {
        case .frame(.envelope(let envelope)): self.framesByType[envelope.type]?.increment()
        case .frame(.fileData): self.fileDataFrames.increment()
        case .invalid: self.invalidFrames.increment()
        }
    }

    /// A batch of samples reached the history store.
    func samplesStored(_ count: Int) {
        guard count > 0 else { return }
        self.samplesStored.increment(by: Int64(count))
    }

    /// The detector declared a host DOWN this many seconds after its last heartbeat.
    func downDetected(afterSilence seconds: Double) {
        self.detectionLatency.record(seconds)
    }

    /// A `/metrics/fleet` answer took this long to render.
    func fleetRendered(seconds: Double) {
        self.fleetRender.record(seconds)
    }

    // MARK: Made on first use

    /// An error answer went to an agent connection: `refused` (the frame was dropped, the
    /// connection goes on) or `closed` (the connection is closed after it).
    func protocolError(code: ErrorCode?, closed: Bool) {
        let code = code?.rawValue ?? "none"
        let outcome = closed ? "closed" : "refused"
        self.counter(in: self.protocolErrors, key: code + "/" + outcome, Names.protocolErrors, [("code", code), ("outcome", outcome)]).increment()
    }

    /// An HTTP request was answered. `route` is the matched route pattern (`/api/servers/{hostname}`),
    /// never the raw path, so the number of series stays bounded.
    func httpRequest(route: String, method: String, status: Int, seconds: Double) {
        let key = route + " " + method + " " + String(status)
        let histogram = self.httpRequests.withLock { cache in
            if let histogram = cache[key] { return histogram }
            let histogram = self.registry.makeValueHistogram(
                descriptor: Self.describe(Names.httpRequests), labels: [("route", route), ("method", method), ("code", String(status))],
                buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
            )
            cache[key] = histogram
            return histogram
        }
        histogram.record(seconds)
    }

    /// A notification was handed to a channel: `result` is e.g. `delivered`, `failed`, `dead`.
    /// `channel` is the channel's configured name, `kind` its type (`webhook`, `alertmanager`, `email`).
    public func notificationDelivered(channel: String, kind: String, result: String) {
        self.counter(in: self.notifications, key: channel + "\u{0}" + kind + "\u{0}" + result, Names.notifications, [("channel", channel), ("kind", kind), ("result", result)]).increment()
    }

    /// The gauge of alerts firing now with this severity; set it whenever the count changes.
    public func alertsFiring(severity: String) -> Gauge {
        self.firing.withLock { cache in
            if let gauge = cache[severity] { return gauge }
            let gauge = self.registry.makeGauge(descriptor: Self.describe(Names.alertsFiring), labels: [("severity", severity)])
            cache[severity] = gauge
            return gauge
        }
    }

    /// Sets the number of alerts firing now with this severity.
    public func setAlertsFiring(_ count: Int, severity: String) {
        self.alertsFiring(severity: severity).set(Double(count))
    }

    // MARK: Scrape

    /// Copies the counts that live elsewhere into their gauges; called before each emission.
    func update(_ figures: ServerFigures) {
        let registered = figures.registeredSessions.values.reduce(0, +)
        self.handshakingConnections.set(Double(max(0, figures.agentConnections - registered)))
        self.registeredConnections.set(Double(registered))
        for (kind, gauge) in self.sessionsByKind { gauge.set(Double(figures.registeredSessions[kind] ?? 0)) }
        self.httpConnections.set(Double(figures.httpConnections))
        self.streamClients.set(Double(figures.streamClients))
        self.ingestQueue.set(Double(figures.ingestQueueDepth))
    }

    /// The exposition text of everything registered.
    func emit() -> [UInt8] {
        self.registry.emitToBuffer()
    }

    private func counter(in made: borrowing Mutex<[String: Counter]>, key: String, _ name: (String, String), _ labels: [(String, String)]) -> Counter {
        made.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = self.registry.makeCounter(descriptor: Self.describe(name), labels: labels)
            cache[key] = counter
            return counter
        }
    }

    private static func describe(_ name: (String, String)) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name.0, unitName: "", helpText: name.1)
    }
}
