import Foundation
import VigilAlerting

/// The mail a notification becomes (RFC 5322 + MIME): headers, then a quoted-printable UTF-8 text
/// body listing each alert with its top processes. The `Message-ID` is made from the notification's
/// id, so every attempt is the same message and mail systems can drop a duplicate.
public struct EmailMessage: Sendable {
    public var from: MailAddress
    public var to: [MailAddress]
    public var notification: AlertNotification
    /// When it is sent (the `Date:` header).
    public var date: Date

    public init(from: MailAddress, to: [MailAddress], notification: AlertNotification, date: Date) {
        self.from = from
        self.to = to
        self.notification = notification
        self.date = date
    }

    /// `<id@vigil>`, with anything outside RFC 5322's dot-atom characters in the id replaced by `-`.
    public var messageID: String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.")
        var id = String(self.notification.id.map { allowed.contains($0) ? $0 : "-" })
        while id.hasPrefix(".") { id.removeFirst() }
        while id.hasSuffix(".") { id.removeLast() }
        id = id.replacingOccurrences(of: "..", with: ".-")
        return "<\(id.isEmpty ? "-" : id)@vigil>"
    }

    /// The subject: the notification's title, RFC 2047-encoded (and folded) when it is not ASCII.
    public var subject: String {
        HeaderText.encodedWord(self.notification.title, separator: "\r\n ")
    }

    /// The body text before transfer encoding.
    public var bodyText: String {
        NotificationText.text(self.notification) + "\n\n-- \nSent by Vigil. Notification \(self.notification.id), group \(self.notification.groupKey).\n"
    }

    /// The whole message, CRLF line endings, ready for ``SMTPDataEncoding``.
    public var rendered: [UInt8] {
        let headers = [
            "Date: \(MailDate.format(self.date))",
            "From: \(self.from.headerValue)",
            "To: \(self.to.map(\.headerValue).joined(separator: ",\r\n "))",
            "Subject: \(self.subject)",
            "Message-ID: \(self.messageID)",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "Auto-Submitted: auto-generated",
            "X-Vigil-Notification: \(HeaderText.encodedWord(self.notification.id))",
        ]
        let text = headers.joined(separator: "\r\n") + "\r\n\r\n" + QuotedPrintable.encode(self.bodyText)
        return Array(text.utf8)
    }
}
