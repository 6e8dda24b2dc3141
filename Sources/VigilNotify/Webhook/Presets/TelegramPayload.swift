import VigilAlerting

/// Telegram Bot API `sendMessage`: `{"chat_id": …, "text": …}`. No `parse_mode`: the text is sent
/// as plain text, so nothing in a summary or process name can break Markdown/HTML parsing (a
/// parse error is a 400, which would be permanent) and nothing needs escaping.
enum TelegramPayload {
    /// Telegram's limit for one message's text.
    static let maximumCharacters = 4096

    struct Body: Encodable {
        var chatID: String
        var text: String
        var disableWebPagePreview = true

        enum CodingKeys: String, CodingKey {
            case text
            case chatID = "chat_id"
            case disableWebPagePreview = "disable_web_page_preview"
        }
    }

    static func make(_ notification: AlertNotification, chatID: String) -> WebhookPayload {
        let text = NotificationText.truncated(NotificationText.text(notification), to: Self.maximumCharacters)
        return WebhookPayload(body: NotificationJSON.encode(Body(chatID: chatID, text: text)))
    }
}
