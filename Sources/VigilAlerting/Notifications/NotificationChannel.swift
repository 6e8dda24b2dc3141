/// Somewhere notifications go: a webhook, an Alertmanager, a mailbox.
///
/// ``deliver(_:attempt:)`` returns once the receiver confirmed (a 2xx, an SMTP `250` after the
/// data); it throws ``DeliveryFailure`` otherwise. It must not retry itself: the dispatcher owns
/// retries, backoff and the dead-letter state, and bounds each call with the channel's timeout.
public protocol NotificationChannel: Sendable {
    /// The configured name (routes refer to it).
    var name: String { get }
    /// `webhook`, `alertmanager` or `email`.
    var kind: String { get }
    /// Delivers one notification. `attempt` counts from 1.
    func deliver(_ notification: AlertNotification, attempt: Int) async throws(DeliveryFailure)
    /// Releases what the channel holds (HTTP client pools); called once when the channel is replaced or the server stops.
    func shutdown() async
}
