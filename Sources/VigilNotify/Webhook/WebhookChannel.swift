import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOHTTP1
import NIOSSL
import VigilAlerting

/// A webhook: one POST per delivery of the preset's body, signed when a secret is set.
///
/// Every request carries `X-Vigil-Delivery: <notification id>` (the same on every attempt: the
/// receiver's idempotency key) and `X-Vigil-Attempt: <n>`; with a secret, `X-Vigil-Signature-256:
/// sha256=<hex HMAC-SHA256(secret, body)>` as GitHub signs its webhooks.
public final class WebhookChannel: NotificationChannel {
    public let name: String
    public var kind: String { ChannelKind.webhook.rawValue }
    public let url: URL
    public let preset: WebhookPreset
    let secret: SymmetricKey?
    let headers: [(name: String, value: String)]
    let telegramChatID: String?
    let delivery: HTTPDelivery
    /// Shut down with the channel when the channel made it; an injected client is its owner's.
    let ownsClient: Bool
    let logger: Logger

    /// - Parameters:
    ///   - url: An http or https URL (checked by ``ChannelSettings/validate()``; a channel made
    ///     directly with another scheme fails every delivery permanently).
    ///   - secret: The HMAC-SHA256 key; nil sends no signature.
    ///   - headers: Extra headers, after the preset's and Vigil's own.
    ///   - telegramChatID: The `chat_id` for the Telegram preset.
    ///   - timeout: Bounds each whole delivery.
    ///   - httpClient: A shared client (its owner shuts it down), or nil for one of the channel's own,
    ///     using `tlsConfiguration` (nil: the system's trust store), shut down by ``shutdown()``.
    public init(
        name: String, url: URL, preset: WebhookPreset = .generic, secret: [UInt8]? = nil, headers: [String: String] = [:],
        telegramChatID: String? = nil, timeout: Duration = ChannelSettings.defaultHTTPTimeout, httpClient: HTTPClient? = nil,
        tlsConfiguration: TLSConfiguration? = nil, logger: Logger
    ) {
        self.name = name
        self.url = url
        self.preset = preset
        self.secret = secret.map { SymmetricKey(data: $0) }
        self.headers = headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        self.telegramChatID = telegramChatID
        self.ownsClient = httpClient == nil
        self.delivery = HTTPDelivery(client: httpClient ?? HTTPClientFactory.make(timeout: timeout, tlsConfiguration: tlsConfiguration), timeout: timeout, logger: logger)
        self.logger = logger
    }

    public func deliver(_ notification: AlertNotification, attempt: Int) async throws(DeliveryFailure) {
        guard let scheme = self.url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw .permanent("\(self.url.redacted): only http and https URLs are supported")
        }
        let payload = self.preset.payload(for: notification, telegramChatID: self.telegramChatID)
        let headers = self.requestHeaders(payload, notification: notification, attempt: attempt)
        try await self.delivery.post(self.url, headers: headers, body: payload.body)
    }

    func requestHeaders(_ payload: WebhookPayload, notification: AlertNotification, attempt: Int) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: payload.contentType)
        headers.add(name: "User-Agent", value: "Vigil")
        headers.add(name: "X-Vigil-Delivery", value: HeaderText.sanitized(notification.id))
        headers.add(name: "X-Vigil-Attempt", value: String(attempt))
        if let secret = self.secret {
            headers.add(name: "X-Vigil-Signature-256", value: WebhookSignature.header(body: payload.body, key: secret))
        }
        for header in payload.headers { headers.add(name: header.name, value: header.value) }
        for header in self.headers { headers.replaceOrAdd(name: header.name, value: header.value) }
        return headers
    }

    public func shutdown() async {
        guard self.ownsClient else { return }
        do {
            try await self.delivery.client.shutdown()
        } catch {
            self.logger.debug("webhook channel HTTP client shutdown", metadata: ["channel": "\(self.name)", "error": "\(error)"])
        }
    }
}
