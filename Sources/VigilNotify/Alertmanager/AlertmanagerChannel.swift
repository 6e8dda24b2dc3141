import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import NIOSSL
import VigilAlerting

/// Alertmanager: `POST {url}/api/v2/alerts` with every alert of the notification, as Prometheus
/// sends them.
///
/// A firing alert is sent with `endsAt = now + 4 × resendInterval` (Prometheus' rule): it stays
/// active while Vigil keeps re-sending it every ``resendInterval``, and expires by itself if Vigil
/// stops (dies, loses the network) instead of firing forever. A resolved alert is sent with its
/// real end, which resolves it at once. Alertmanager does its own grouping, silencing and repeats.
///
/// The dispatcher must therefore re-deliver each firing alert to this channel every
/// ``resendInterval`` while it fires, acknowledged or not, independently of `repeat_interval`.
public final class AlertmanagerChannel: NotificationChannel {
    public let name: String
    public var kind: String { ChannelKind.alertmanager.rawValue }
    /// `{url}/api/v2/alerts`.
    public let endpoint: URL
    /// How often the dispatcher re-sends a firing alert here.
    public let resendInterval: Duration
    let headers: [(name: String, value: String)]
    let delivery: HTTPDelivery
    let ownsClient: Bool
    let logger: Logger
    /// The clock `endsAt` is computed from (a test sets it).
    let now: @Sendable () -> Date

    /// - Parameters:
    ///   - url: Alertmanager's base URL (`http://alertmanager:9093`, or with a path prefix).
    ///   - httpClient: A shared client (its owner shuts it down), or nil for the channel's own.
    public init(
        name: String, url: URL, resendInterval: Duration = ChannelSettings.defaultResendInterval, headers: [String: String] = [:],
        timeout: Duration = ChannelSettings.defaultHTTPTimeout, httpClient: HTTPClient? = nil, tlsConfiguration: TLSConfiguration? = nil,
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.name = name
        self.endpoint = url.appendingPathComponent("api/v2/alerts")
        self.resendInterval = resendInterval
        self.headers = headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        self.ownsClient = httpClient == nil
        self.delivery = HTTPDelivery(client: httpClient ?? HTTPClientFactory.make(timeout: timeout, tlsConfiguration: tlsConfiguration), timeout: timeout, logger: logger)
        self.logger = logger
        self.now = now
    }

    public func deliver(_ notification: AlertNotification, attempt: Int) async throws(DeliveryFailure) {
        let alerts = AlertmanagerPayload.alerts(for: notification, now: self.now(), resendInterval: self.resendInterval)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "User-Agent", value: "Vigil")
        for header in self.headers { headers.replaceOrAdd(name: header.name, value: header.value) }
        try await self.delivery.post(self.endpoint, headers: headers, body: AlertmanagerPayload.encode(alerts))
    }

    public func shutdown() async {
        guard self.ownsClient else { return }
        try? await self.delivery.client.shutdown()
    }
}
