import Foundation
import Logging
import Testing
import VigilAlerting
@testable import VigilNotify

/// The email channel against a real SMTP server (aiosmtpd, started by the test) with STARTTLS or
/// implicit TLS and AUTH, and against a server that never greets.
@Suite(.serialized) struct EmailChannelTests {
    // CI installs aiosmtpd (.ci/run); without it the tests that need it are skipped, and say so.
    static let available = SMTPServerProcess.available

    static func settings(_ server: SMTPServerProcess, password: String = SMTPServerProcess.password, tls: EmailTLSMode = .starttls) throws -> ChannelSettings {
        let passwordFile = server.directory.appendingPathComponent("password")
        try writePrivate(password + "\n", to: passwordFile)
        var settings = ChannelSettings(name: "mail", kind: .email)
        settings.host = "localhost"
        settings.port = server.port
        settings.tls = tls
        settings.caFile = server.certificates.caFile.path
        settings.username = SMTPServerProcess.user
        settings.passwordFile = passwordFile.path
        settings.from = "Vigil <vigil@example.com>"
        settings.to = ["ops@example.com", "Oncall Person <oncall@example.com>"]
        settings.helloName = "vigil.test"
        settings.timeout = .seconds(15)
        return settings
    }

    static func deliver(_ settings: ChannelSettings, _ notification: AlertNotification = TestNotifications.firing(channel: "mail")) async throws(DeliveryFailure) {
        let channel: any NotificationChannel
        do {
            channel = try settings.makeChannel(logger: Logger(label: "test"))
        } catch {
            throw .permanent("settings: \(error)")
        }
        defer { Task { await channel.shutdown() } }
        try await channel.deliver(notification, attempt: 1)
    }

    @Test(.enabled(if: EmailChannelTests.available, "aiosmtpd is not installed"))
    func deliversOverSTARTTLSWithAuth() async throws {
        let server = try await SMTPServerProcess()
        defer { server.stop() }
        try await Self.deliver(try Self.settings(server))

        let message = try #require(try server.received().first, "nothing received; server log:\n\(server.log)")
        #expect(message.tls, "the message came over TLS")
        #expect(message.mailFrom == "vigil@example.com")
        #expect(message.recipients == ["ops@example.com", "oncall@example.com"])
        let parts = message.content.components(separatedBy: "\r\n\r\n")
        let headers = parts[0]
        #expect(headers.contains("Subject: [FIRING:1] web-1 cpu_high"))
        #expect(headers.contains("Message-ID: <n-1001@vigil>"))
        #expect(headers.contains("From: \"Vigil\" <vigil@example.com>"))
        #expect(headers.contains("To: ops@example.com,\r\n \"Oncall Person\" <oncall@example.com>"))
        #expect(headers.contains("Content-Transfer-Encoding: quoted-printable"))
        #expect(headers.contains("Date: Fri, 15 Jan 2027 08:00:30 +0000"))
        let body = SMTPProtocolTests.decodeQuotedPrintable(parts.dropFirst().joined(separator: "\r\n\r\n"))
        WebhookPresetTests.expectComplete(body)
    }

    @Test(.enabled(if: EmailChannelTests.available, "aiosmtpd is not installed"))
    func deliversOverImplicitTLSWithAuthLogin() async throws {
        let server = try await SMTPServerProcess(implicitTLS: true, excludeMechanisms: ["PLAIN"])
        defer { server.stop() }
        var notification = TestNotifications.firing(id: "n-utf8", channel: "mail")
        notification.alerts[0].hostname = "büro-1"
        notification.alerts[0].summary = ".a line starting with a dot\n."
        try await Self.deliver(try Self.settings(server, tls: .implicit), notification)

        let message = try #require(try server.received().first, "nothing received; server log:\n\(server.log)")
        #expect(message.tls)
        #expect(server.log.contains("AUTH attempt LOGIN"), "PLAIN is not offered, so LOGIN is used")
        #expect(message.content.contains("Subject: =?UTF-8?B?"))
        let body = SMTPProtocolTests.decodeQuotedPrintable(message.content.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n"))
        #expect(body.contains("büro-1"))
        #expect(body.contains("Summary: .a line starting with a dot\r\n.\r\n"), "dot-stuffing undone by the server, as it must be")
    }

    @Test(.enabled(if: EmailChannelTests.available, "aiosmtpd is not installed"))
    func wrongPasswordIsPermanentAndNames535() async throws {
        let server = try await SMTPServerProcess()
        defer { server.stop() }
        let settings = try Self.settings(server, password: "wrong horse")
        do {
            try await Self.deliver(settings)
            Issue.record("delivered with a wrong password")
        } catch {
            #expect(error.kind == .permanent)
            #expect(error.detail.contains("authentication refused (535"), "\(error.detail)")
            #expect(!error.detail.contains("wrong horse"))
        }
        #expect(try server.received().isEmpty)
    }

    @Test(.enabled(if: EmailChannelTests.available, "aiosmtpd is not installed"))
    func untrustedCertificateIsNotAccepted() async throws {
        let server = try await SMTPServerProcess()
        defer { server.stop() }
        var settings = try Self.settings(server)
        settings.caFile = nil  // the system's roots do not know the test CA
        do {
            try await Self.deliver(settings)
            Issue.record("delivered to a server with an untrusted certificate")
        } catch {
            #expect(error.detail.contains("TLS") || error.detail.contains("certificate"), "\(error.detail)")
        }
        #expect(try server.received().isEmpty)
    }

    @Test func serverThatNeverGreetsIsTransientWithinTheTimeout() async throws {
        let silent = try await SilentServer()
        defer { Task { await silent.stop() } }
        var settings = ChannelSettings(name: "mail", kind: .email)
        settings.host = "127.0.0.1"
        settings.port = silent.port
        settings.from = "vigil@example.com"
        settings.to = ["ops@example.com"]
        settings.timeout = .seconds(1)
        let started = ContinuousClock.now
        do {
            try await Self.deliver(settings)
            Issue.record("delivered to a server that never greets")
        } catch {
            #expect(error.kind == .transient)
            #expect(error.detail.contains("greeting"), "\(error.detail)")
        }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(4), "\(elapsed)")
    }

    @Test func refusedConnectionIsTransient() async throws {
        var settings = ChannelSettings(name: "mail", kind: .email)
        settings.host = "127.0.0.1"
        settings.port = try freePort()
        settings.from = "vigil@example.com"
        settings.to = ["ops@example.com"]
        settings.timeout = .seconds(3)
        do {
            try await Self.deliver(settings)
            Issue.record("delivered to a closed port")
        } catch {
            #expect(error.kind == .transient, "\(error)")
        }
    }
}
