import Foundation
import Testing
import VigilAlerting
@testable import VigilNotify

/// The SMTP client's pure parts: reply parsing, capabilities, commands, dot-stuffing, quoted-printable, the message.
@Suite struct SMTPProtocolTests {
    @Test func parsesSingleAndMultiLineRepliesAcrossChunks() throws {
        var parser = SMTPReplyParser()
        let first = try parser.feed(Array("220 mail.example.com ESMTP ready\r\n250-mail.example.com\r\n250-AUTH PL".utf8))
        #expect(first == [SMTPReply(code: 220, lines: ["mail.example.com ESMTP ready"])])
        #expect(parser.hasPartialInput)
        let replies = try parser.feed(Array("AIN LOGIN\r\n250-STARTTLS\n250 8BITMIME\r\n".utf8))
        #expect(replies == [SMTPReply(code: 250, lines: ["mail.example.com", "AUTH PLAIN LOGIN", "STARTTLS", "8BITMIME"])])
        #expect(!parser.hasPartialInput)
        let last = try parser.feed(Array("354\r\n".utf8))
        #expect(last == [SMTPReply(code: 354, lines: [""])])
    }

    @Test func refusesWhatIsNotSMTP() {
        var garbage = SMTPReplyParser()
        #expect(throws: SMTPReplyParser.Malformed.self) { try garbage.feed(Array("HTTP/1.1 400 Bad Request\r\n".utf8)) }
        var mixed = SMTPReplyParser()
        #expect(throws: SMTPReplyParser.Malformed.self) { try mixed.feed(Array("250-one\r\n550 two\r\n".utf8)) }
        var long = SMTPReplyParser()
        #expect(throws: SMTPReplyParser.Malformed.self) { try long.feed(Array(repeating: UInt8(ascii: "2"), count: SMTPReplyParser.maximumLineBytes + 10)) }
    }

    @Test func capabilitiesReadKeywordsAndLegacyAuth() {
        let reply = SMTPReply(code: 250, lines: ["mx", "SIZE 1000", "auth=LOGIN", "AUTH PLAIN CRAM-MD5", "starttls", "8BITMIME"])
        let capabilities = SMTPCapabilities(ehlo: reply)
        #expect(capabilities.startTLS)
        #expect(capabilities.eightBitMIME)
        #expect(capabilities.authMechanisms == ["PLAIN", "LOGIN", "CRAM-MD5"])
        #expect(!SMTPCapabilities().startTLS)
    }

    @Test func authCommandsEncodeCredentialsAndNeverShowThem() {
        let plain = SMTPCommand.authPlain(username: "vigil", password: "s3cret")
        #expect(plain.line == "AUTH PLAIN \(Data("\0vigil\0s3cret".utf8).base64EncodedString())\r\n")
        #expect(!plain.shown.contains("s3cret") && !plain.shown.contains(Data("\0vigil\0s3cret".utf8).base64EncodedString()))
        #expect(SMTPCommand.authResponse("s3cret").line == "czNjcmV0\r\n")
        #expect(SMTPCommand.authResponse("s3cret").shown == "AUTH LOGIN (credentials)")
        #expect(SMTPCommand.mailFrom("a@b.c", eightBitMIME: false).line == "MAIL FROM:<a@b.c>\r\n")
        #expect(SMTPCommand.rcptTo("d@e.f").line == "RCPT TO:<d@e.f>\r\n")
    }

    @Test func dataEncodingStuffsDotsNormalisesLineEndsAndTerminates() {
        let encoded = SMTPDataEncoding.encode(Array(".first\nmiddle\r\n..two\rlast".utf8))
        #expect(String(decoding: encoded, as: UTF8.self) == "..first\r\nmiddle\r\n...two\r\nlast\r\n.\r\n")
        #expect(String(decoding: SMTPDataEncoding.encode(Array("a\r\n.\r\n".utf8)), as: UTF8.self) == "a\r\n..\r\n.\r\n")
        #expect(String(decoding: SMTPDataEncoding.encode([]), as: UTF8.self) == ".\r\n")
    }

    @Test func quotedPrintableKeepsLinesShortAndEscapesWhatItMust() {
        let text = "CPU über 90 % = heiß \nline two ends in space \n" + String(repeating: "x", count: 200)
        let encoded = QuotedPrintable.encode(text)
        let lines = encoded.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= QuotedPrintable.maximumLineLength })
        #expect(encoded.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(lines[0] == "CPU =C3=BCber 90 % =3D hei=C3=9F=20")
        #expect(lines[1] == "line two ends in space=20")
        #expect(Self.decodeQuotedPrintable(encoded) == text.replacingOccurrences(of: "\n", with: "\r\n"))
    }

    @Test func addressesParseAndRefuseInjection() throws {
        let named = try #require(MailAddress(parsing: "Vigil Alerts <vigil@example.com>"))
        #expect(named.address == "vigil@example.com")
        #expect(named.headerValue == "\"Vigil Alerts\" <vigil@example.com>")
        #expect(MailAddress(parsing: "ops@example.com")?.headerValue == "ops@example.com")
        #expect(MailAddress(parsing: "Jörg <j@example.com>")?.headerValue.hasPrefix("=?UTF-8?B?") == true)
        #expect(MailAddress(parsing: "a@b.c>\r\nRCPT TO:<evil@x.y") == nil)
        #expect(MailAddress(parsing: "no-at-sign") == nil)
        #expect(MailAddress(parsing: "two@at@signs") == nil)
        #expect(MailAddress(parsing: "sp ace@example.com") == nil)
    }

    @Test func messageHasTheHeadersAndASubjectEncodedWhenNotASCII() throws {
        var notification = TestNotifications.firing(id: "n 1/2")
        notification.alerts[0].hostname = "wébserver"
        let message = EmailMessage(
            from: try #require(MailAddress(parsing: "Vigil <vigil@example.com>")), to: [try #require(MailAddress(parsing: "ops@example.com"))],
            notification: notification, date: Date(timeIntervalSince1970: 1_800_000_000)
        )
        let text = String(decoding: message.rendered, as: UTF8.self)
        let headers = text.components(separatedBy: "\r\n\r\n")[0]
        #expect(headers.contains("Date: Fri, 15 Jan 2027 08:00:00 +0000"))
        #expect(headers.contains("From: \"Vigil\" <vigil@example.com>"))
        #expect(headers.contains("To: ops@example.com"))
        #expect(headers.contains("Subject: =?UTF-8?B?"))
        #expect(headers.contains("Message-ID: <n-1/2@vigil>"))
        #expect(headers.contains("Content-Type: text/plain; charset=utf-8"))
        #expect(headers.contains("Content-Transfer-Encoding: quoted-printable"))
        #expect(headers.contains("MIME-Version: 1.0"))
        #expect(text.unicodeScalars.allSatisfy { $0.isASCII })
        // A hostile title cannot add a header.
        notification.alerts[0].hostname = "x\r\nBcc: evil@example.com"
        let hostile = EmailMessage(from: message.from, to: message.to, notification: notification, date: message.date)
        let hostileHeaders = String(decoding: hostile.rendered, as: UTF8.self).components(separatedBy: "\r\n\r\n")[0]
        #expect(!hostileHeaders.contains("\r\nBcc:"))
        #expect(hostileHeaders.contains("Subject: [FIRING:1] x  Bcc: evil@example.com cpu_high"))
    }

    static func decodeQuotedPrintable(_ text: String) -> String {
        var bytes: [UInt8] = []
        let input = Array(text.replacingOccurrences(of: "=\r\n", with: "").utf8)
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "="), index + 2 < input.count, let byte = UInt8(String(decoding: input[index + 1...index + 2], as: UTF8.self), radix: 16) {
                bytes.append(byte)
                index += 3
            } else {
                bytes.append(input[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
