/// How a webhook shapes its body: Vigil's own JSON, or what a chat service's incoming webhook expects.
public enum WebhookPreset: String, Sendable, Equatable, CaseIterable {
    /// The ``VigilAlerting/AlertNotification`` as JSON, signed when a secret is set.
    case generic
    /// Slack incoming webhook: `{"text": …}`.
    case slack
    /// Discord webhook: `{"content": …}` (at most 2000 characters, mentions disabled).
    case discord
    /// Microsoft Teams Workflows webhook: a message with an Adaptive Card attachment.
    case teams
    /// ntfy: the text as the body, `Title`, `Priority` and `Tags` headers; the topic is the URL's path.
    case ntfy
    /// Telegram Bot API `sendMessage`: `{"chat_id": …, "text": …}` as plain text (no parse mode, nothing to escape).
    case telegram
}
