/// What a channel speaks: the `type` key of a channel's settings.
public enum ChannelKind: String, Sendable, Equatable, CaseIterable {
    /// An HTTP POST of the notification, shaped by a ``WebhookPreset``.
    case webhook
    /// Alertmanager's `POST /api/v2/alerts`.
    case alertmanager
    /// A mail over SMTP.
    case email
}
