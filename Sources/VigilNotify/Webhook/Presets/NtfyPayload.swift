import VigilAlerting

/// ntfy (`POST https://ntfy.sh/<topic>`): the text as a plain body, and the headers ntfy reads.
///
/// Priority (ntfy's 1–5) follows whether someone should be interrupted:
/// - firing or repeated **critical** → 5 (`urgent`: long vibration bursts, and on Android may be
///   set to break through Do Not Disturb): a critical alert is meant to wake someone;
/// - firing or repeated **warning** → 4 (`high`: a pop-over and a long vibration, but it respects
///   Do Not Disturb): seen promptly during the day, never a night-time wake-up, and still above the
///   default 3 of ordinary messages that may share the topic;
/// - **resolved** → 2 (`low`: no sound or vibration): good news does not need to interrupt.
///
/// Tags become emoji (`rotating_light`, `warning`, `white_check_mark`) plus the severity and
/// `vigil`. Header values are ASCII; a non-ASCII title is RFC 2047-encoded, which ntfy decodes.
enum NtfyPayload {
    /// ntfy turns longer messages into attachments; stay under its 4096-byte message limit.
    static let maximumBodyBytes = 4000

    static func make(_ notification: AlertNotification) -> WebhookPayload {
        var text = NotificationText.text(notification)
        while text.utf8.count > Self.maximumBodyBytes { text = NotificationText.truncated(text, to: text.count * 9 / 10) }
        var headers: [(name: String, value: String)] = [
            ("Title", HeaderText.encodedWord(notification.title)),
            ("Priority", String(Self.priority(notification))),
            ("Tags", Self.tags(notification).joined(separator: ",")),
        ]
        if let url = notification.externalURL, url.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F }) {
            headers.append(("Click", url))
        }
        return WebhookPayload(body: Array(text.utf8), contentType: "text/plain; charset=utf-8", headers: headers)
    }

    static func priority(_ notification: AlertNotification) -> Int {
        let firing = notification.alerts.filter { $0.status == .firing }
        if firing.isEmpty { return 2 }
        return firing.contains { $0.severity == .critical } ? 5 : 4
    }

    static func tags(_ notification: AlertNotification) -> [String] {
        let firing = notification.alerts.filter { $0.status == .firing }
        guard let worst = firing.map(\.severity).max() else { return ["white_check_mark", "resolved", "vigil"] }
        return [worst == .critical ? "rotating_light" : "warning", worst.rawValue, "vigil"]
    }
}
