import Foundation
import Logging
import Testing
import VigilAlerting
@testable import VigilNotify

/// Each preset's request, as the receiver gets it: the body's shape, the headers, and that the
/// text says firing/resolved, host, rule, value against threshold, summary, top processes and who acknowledged.
@Suite struct WebhookPresetTests {
    static func deliver(_ preset: WebhookPreset, _ notification: AlertNotification = TestNotifications.firing(), path: String = "/topic", chatID: String? = nil) async throws -> HTTPReceiver.Request {
        let receiver = try await HTTPReceiver()
        let channel = WebhookChannel(
            name: "p", url: URL(string: receiver.baseURL + path)!, preset: preset, telegramChatID: chatID, timeout: .seconds(5),
            logger: Logger(label: "test")
        )
        defer { Task { await channel.shutdown(); await receiver.stop() } }
        try await channel.deliver(notification, attempt: 1)
        return try #require(receiver.requests.first)
    }

    static func json(_ request: HTTPReceiver.Request) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
    }

    /// What every text rendering must say about the firing CPU alert.
    static func expectComplete(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for needle in ["FIRING", "web-1", "cpu_high", "97.25", "threshold 90", "CPU above 90% on web-1", "java", "4242", "180.5%", "1.2 GiB", "postgres", "alice"] {
            #expect(text.contains(needle), "missing \(needle) in \(text)", sourceLocation: sourceLocation)
        }
    }

    @Test func slackSendsEscapedText() async throws {
        var notification = TestNotifications.firing()
        notification.alerts[0].summary = "CPU above 90% on web-1 <!channel> & more"
        let request = try await Self.deliver(.slack, notification)
        let text = try #require(try Self.json(request)["text"] as? String)
        Self.expectComplete(text)
        #expect(text.contains("&lt;!channel&gt; &amp; more"))
        #expect(!text.contains("<!channel>"))
    }

    @Test func discordSendsContentWithinTheLimitAndNoMentions() async throws {
        var notification = TestNotifications.firing()
        notification.alerts[0].summary = "CPU above 90% on web-1 @everyone " + String(repeating: "y", count: 3000)
        let request = try await Self.deliver(.discord, notification)
        let json = try Self.json(request)
        let content = try #require(json["content"] as? String)
        #expect(content.count <= DiscordPayload.maximumCharacters)
        #expect(content.contains("web\\-1") && content.contains("cpu\\_high"))
        let mentions = try #require(json["allowed_mentions"] as? [String: Any])
        #expect((mentions["parse"] as? [Any])?.isEmpty == true)
        // Short enough: everything is there.
        let short = try await Self.deliver(.discord)
        let full = try #require(try Self.json(short)["content"] as? String)
        Self.expectComplete(full.replacingOccurrences(of: "\\", with: ""))
    }

    @Test func teamsSendsAnAdaptiveCard() async throws {
        let request = try await Self.deliver(.teams)
        let json = try Self.json(request)
        #expect(json["type"] as? String == "message")
        let attachment = try #require((json["attachments"] as? [[String: Any]])?.first)
        #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
        let card = try #require(attachment["content"] as? [String: Any])
        #expect(card["type"] as? String == "AdaptiveCard")
        #expect(card["$schema"] as? String == "http://adaptivecards.io/schemas/adaptive-card.json")
        let body = try #require(card["body"] as? [[String: Any]])
        #expect(body.first?["text"] as? String == "[FIRING:1] web-1 cpu_high")
        let facts = try #require(body.first { $0["type"] as? String == "FactSet" }?["facts"] as? [[String: String]])
        let rendered = body.compactMap { $0["text"] as? String }.joined(separator: "\n") + facts.map { "\($0["title"]!): \($0["value"]!)" }.joined(separator: "\n")
        Self.expectComplete(rendered)
        let action = try #require((card["actions"] as? [[String: Any]])?.first)
        #expect(action["url"] as? String == "https://vigil.example.com/alerts")
    }

    @Test func ntfySendsPlainTextWithTitlePriorityAndTags() async throws {
        let request = try await Self.deliver(.ntfy, path: "/vigil-alerts")
        #expect(request.uri == "/vigil-alerts")
        #expect(request.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(request.header("Title") == "[FIRING:1] web-1 cpu_high")
        #expect(request.header("Priority") == "5")
        #expect(request.header("Tags") == "rotating_light,critical,vigil")
        #expect(request.header("Click") == "https://vigil.example.com/alerts")
        Self.expectComplete(String(decoding: request.body, as: UTF8.self))

        let resolved = try await Self.deliver(.ntfy, TestNotifications.resolved(endsAt: TestNotifications.startsAt.addingTimeInterval(600)), path: "/vigil-alerts")
        #expect(resolved.header("Priority") == "2")
        #expect(resolved.header("Title") == "[RESOLVED] web-1 cpu_high")
        #expect(String(decoding: resolved.body, as: UTF8.self).contains("RESOLVED"))

        var warning = TestNotifications.firing()
        warning.alerts[0].severity = .warning
        warning.alerts[0].hostname = "wébserver"
        let warned = try await Self.deliver(.ntfy, warning, path: "/vigil-alerts")
        #expect(warned.header("Priority") == "4")
        #expect(warned.header("Title")?.hasPrefix("=?UTF-8?B?") == true, "non-ASCII titles are RFC 2047-encoded")
    }

    @Test func telegramSendsChatIDAndPlainText() async throws {
        let request = try await Self.deliver(.telegram, path: "/bot123:ABC/sendMessage", chatID: "-100200")
        #expect(request.uri == "/bot123:ABC/sendMessage")
        let json = try Self.json(request)
        #expect(json["chat_id"] as? String == "-100200")
        #expect(json["parse_mode"] == nil)
        Self.expectComplete(try #require(json["text"] as? String))
    }

    @Test func genericCarriesResolvedAlertsToo() async throws {
        let endsAt = TestNotifications.startsAt.addingTimeInterval(600)
        let request = try await Self.deliver(.generic, TestNotifications.resolved(endsAt: endsAt))
        let decoded = try NotificationJSON.decoder().decode(AlertNotification.self, from: Data(request.body))
        #expect(decoded.status == .resolved)
        #expect(decoded.alerts.first?.endsAt == endsAt)
    }

    @Test func renderingSaysEverythingAndFormatsNumbers() {
        Self.expectComplete(NotificationText.text(TestNotifications.firing()))
        #expect(NotificationText.number(95) == "95")
        #expect(NotificationText.number(95.256) == "95.26")
        #expect(NotificationText.number(0.5) == "0.5")
        #expect(NotificationText.bytes(512) == "512 B")
        #expect(NotificationText.bytes(3 * 1024 * 1024 + 400 * 1024) == "3.4 MiB")
        #expect(NotificationText.bytes(512 * 1024 * 1024) == "512 MiB")
    }
}
