import VigilAlerting

/// Slack incoming webhook: `{"text": …}`. Slack reads `text` as mrkdwn, where `&`, `<` and `>` are
/// control characters (`<!channel>` pings everyone), so those three are escaped as Slack asks.
enum SlackPayload {
    /// Slack truncates longer messages; stay well under its 40,000 characters.
    static let maximumCharacters = 35_000

    struct Body: Encodable {
        var text: String
    }

    static func make(_ notification: AlertNotification) -> WebhookPayload {
        let text = NotificationText.truncated(NotificationText.text(notification), to: Self.maximumCharacters)
        return WebhookPayload(body: NotificationJSON.encode(Body(text: Self.escaped(text))))
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
