import VigilAlerting

/// Microsoft Teams through a Workflows webhook ("Post to a channel when a webhook request is
/// received"): a `message` whose one attachment is an Adaptive Card (schema 1.4) with the title,
/// then per alert its headline and a fact set, and a button to the dashboard when its URL is known.
/// (The retired Office 365 connectors' MessageCard is not sent.)
enum TeamsPayload {
    static let adaptiveCardContentType = "application/vnd.microsoft.card.adaptive"
    /// Teams refuses cards over about 28 KB; an alert's text is kept well under that.
    static let maximumFactCharacters = 2000

    struct Message: Encodable {
        var type = "message"
        var attachments: [Attachment]
    }

    struct Attachment: Encodable {
        var contentType = TeamsPayload.adaptiveCardContentType
        var content: Card
    }

    struct Card: Encodable {
        var schema = "http://adaptivecards.io/schemas/adaptive-card.json"
        var type = "AdaptiveCard"
        var version = "1.4"
        var body: [Element]
        var actions: [Action]?
        /// Teams draws cards narrow unless asked.
        var msteams = ["width": "Full"]

        enum CodingKeys: String, CodingKey {
            case schema = "$schema"
            case type, version, body, actions, msteams
        }
    }

    /// A `TextBlock` or a `FactSet` (the two elements used).
    struct Element: Encodable {
        var type: String
        var text: String?
        var weight: String?
        var size: String?
        var color: String?
        var wrap: Bool?
        var facts: [Fact]?
    }

    struct Fact: Encodable {
        var title: String
        var value: String
    }

    struct Action: Encodable {
        var type = "Action.OpenUrl"
        var title: String
        var url: String
    }

    static func make(_ notification: AlertNotification) -> WebhookPayload {
        var body = [Element(type: "TextBlock", text: notification.title, weight: "Bolder", size: "Medium", wrap: true)]
        for alert in notification.alerts {
            body.append(Element(
                type: "TextBlock", text: NotificationText.headline(alert), weight: "Bolder",
                color: alert.status == .firing ? (alert.severity == .critical ? "Attention" : "Warning") : "Good", wrap: true
            ))
            let facts = NotificationText.facts(alert).map { Fact(title: $0.name, value: NotificationText.truncated($0.value, to: Self.maximumFactCharacters)) }
            if !facts.isEmpty { body.append(Element(type: "FactSet", facts: facts)) }
        }
        let actions = notification.externalURL.map { [Action(title: "Open in Vigil", url: $0)] }
        let message = Message(attachments: [Attachment(content: Card(body: body, actions: actions))])
        return WebhookPayload(body: NotificationJSON.encode(message))
    }
}
