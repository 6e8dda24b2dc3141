/// Alerting's own settings (`alerting.*` in the server's configuration). The rules, channels and
/// routes live in the file ``file`` names (they are lists of objects, which the flat
/// configuration keys cannot hold); docs/OPERATIONS.md shows it.
public struct AlertingSettings: Sendable, Equatable {
    /// `alerting.file`: the YAML file with `rules`, `channels` and `routes`. Unset: the shipped
    /// default rules, no channels (alerts show in the API and dashboard only).
    public var file: String?
    /// `alerting.default_rules`: whether the shipped rules apply (a file's rule of the same name replaces one).
    public var defaultRules = true
    /// `alerting.external_url`: the dashboard's address as people reach it, linked from notifications.
    public var externalURL: String?
    /// `alerting.tick`: how often silent hosts (`no_data`), repeats, silences and retries are looked at.
    public var tick: Duration = .seconds(1)
    /// `alerting.max_open_notifications`: the outbox's bound. Past it, alerts wait (still marked
    /// un-notified) until deliveries make room; nothing is dropped.
    public var maxOpenNotifications = 10_000
    /// `alerting.max_alerts_per_notification`: a group larger than this is split into several notifications.
    public var maxAlertsPerNotification = 100
    /// `alerting.delivery_concurrency`: deliveries in flight per channel (a hung receiver holds only these).
    public var deliveryConcurrency = 4
    /// `alerting.delivery_timeout`: the longest one attempt may take, whatever the channel says.
    public var deliveryTimeout: Duration = .seconds(30)
    /// `alerting.retry_initial` and `alerting.retry_max`: the backoff between attempts doubles from the first to the second.
    public var retryInitial: Duration = .seconds(1)
    public var retryMax: Duration = .seconds(300)
    /// `alerting.max_attempts`: attempts before a notification is dead (shown in the delivery log).
    public var maxAttempts = 20
    /// `alerting.history_retention`: resolved alerts older than this are deleted.
    public var historyRetention: Duration = .seconds(90 * 86_400)
    /// `alerting.delivery_log_retention`: delivered and dead notifications older than this are deleted.
    public var deliveryLogRetention: Duration = .seconds(30 * 86_400)

    public init() {}
}
