import VigilAlerting

/// Discord webhook: `{"content": …, "allowed_mentions": {"parse": []}}`. Markdown characters are
/// escaped so a summary or process name renders as written, and mentions are disabled so an
/// `@everyone` in peer-supplied text cannot ping a server.
enum DiscordPayload {
    /// Discord refuses content over 2000 characters (a 400, which would be permanent).
    static let maximumCharacters = 2000

    struct Body: Encodable {
        struct Mentions: Encodable {
            var parse: [String] = []
        }

        var content: String
        var allowedMentions = Mentions()

        enum CodingKeys: String, CodingKey {
            case content
            case allowedMentions = "allowed_mentions"
        }
    }

    static func make(_ notification: AlertNotification) -> WebhookPayload {
        let content = Self.fitted(Self.escaped(NotificationText.text(notification)))
        return WebhookPayload(body: NotificationJSON.encode(Body(content: content)))
    }

    static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            if "\\*_~`|>#-[]()".contains(character) { result.append("\\") }
            result.append(character)
        }
        return result
    }

    /// Cut to the limit without leaving a dangling escape backslash at the end.
    static func fitted(_ text: String) -> String {
        guard text.count > Self.maximumCharacters else { return text }
        var cut = String(text.prefix(Self.maximumCharacters - 1))
        var trailing = 0
        for character in cut.reversed() {
            guard character == "\\" else { break }
            trailing += 1
        }
        if trailing % 2 == 1 { cut.removeLast() }
        return cut + "…"
    }
}
