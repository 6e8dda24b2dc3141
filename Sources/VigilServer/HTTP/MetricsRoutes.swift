import Hummingbird
import NIOCore
import Synchronization
import VigilProtocol

/// `GET /metrics` (the server's own figures) and `GET /metrics/fleet` (every host's liveness and
/// latest values), both as Prometheus text exposition (version 0.0.4).
///
/// Access: a viewer's session token or the scrape token (``RouteAccess/viewerOrScrapeToken``).
final class MetricsRoutes: Sendable {
    /// The exposition format's content type (Prometheus' text format, version 0.0.4).
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    let metrics: ServerMetrics
    let tracker: LivenessTracker
    let latest: LatestMetrics
    /// In a cluster, the hosts other members hold: the fleet exposition covers them too (their
    /// samples are in `latest` already, relayed).
    let remote: RemoteHosts?
    /// Reads the counts that live elsewhere, at scrape time.
    let figures: @Sendable () -> ServerFigures
    /// The previous fleet render's buffer, written into again by the next one. It shares its
    /// memory with the answer until that is written; scrapes come one after another, so by the
    /// next one it is this route's alone again (if not, writing copies it: correct, only slower).
    private let spare = Mutex<ByteBuffer?>(nil)

    init(metrics: ServerMetrics, tracker: LivenessTracker, latest: LatestMetrics, remote: RemoteHosts? = nil, figures: @escaping @Sendable () -> ServerFigures) {
        self.remote = remote
        self.metrics = metrics
        self.tracker = tracker
        self.latest = latest
        self.figures = figures
    }

    func register(on router: Router<VigilRequestContext>) {
        router.get("metrics") { _, _ in self.own() }
        router.get("metrics/fleet") { _, _ in self.fleet() }
    }

    func own() -> Response {
        self.metrics.update(self.figures())
        return Self.response(ByteBuffer(bytes: self.metrics.emit()))
    }

    func fleet() -> Response {
        let start = ContinuousClock.now
        let local = self.tracker.unsortedStatuses()
        let exposition = FleetExposition(statuses: self.remote?.merged(local) ?? local, samples: self.latest.all())
        var body = self.spare.withLock { $0.take() } ?? ByteBuffer()
        exposition.render(into: &body)
        self.spare.withLock { $0 = body }
        let elapsed = ContinuousClock.now - start
        self.metrics.fleetRendered(seconds: elapsed.seconds)
        return Self.response(body)
    }

    private static func response(_ body: ByteBuffer) -> Response {
        Response(status: .ok, headers: [.contentType: Self.contentType, .cacheControl: "no-store"], body: .init(byteBuffer: body))
    }
}
