import Foundation
import Logging
import Testing
import VigilAlerting
@testable import VigilNotify

/// What the SMTP client refuses to do, and how it treats refused recipients, against aiosmtpd:
/// no silent downgrade from STARTTLS, no AUTH in clear unless allowed, a temporary refusal of any
/// recipient fails the delivery (nobody gets it, so a retry doubles nothing), a permanent refusal
/// of some recipients still delivers to the others.
@Suite(.serialized) struct EmailPolicyTests {
    static func client(_ server: SMTPServerProcess, tls: EmailTLSMode, username: String? = SMTPServerProcess.user, allowInsecureAuth: Bool = false) throws -> SMTPClient {
        var tlsConfiguration = try HTTPClientFactory.tlsConfiguration(caFile: server.certificates.caFile.path)
        tlsConfiguration.minimumTLSVersion = .tlsv12
        return try SMTPClient(
            configuration: SMTPClientConfiguration(
                host: "localhost", port: server.port, tls: tls, tlsConfiguration: tlsConfiguration, helloName: "vigil.test",
                username: username, password: SMTPServerProcess.password, allowInsecureAuth: allowInsecureAuth, timeout: .seconds(10)
            ),
            logger: Logger(label: "test")
        )
    }

    static func channel(_ server: SMTPServerProcess, to: [String]) throws -> EmailChannel {
        EmailChannel(
            name: "mail", client: try Self.client(server, tls: .starttls), from: MailAddress(parsing: "vigil@example.com")!,
            to: to.compactMap(MailAddress.init(parsing:)), logger: Logger(label: "test")
        )
    }

    static let message = SMTPDataEncoding.encode(Array("Subject: t\r\n\r\nbody\r\n".utf8))

    @Test(.enabled(if: EmailChannelTests.available, "aiosmtpd is not installed"))
    func startTLSNotOfferedIsPermanentAndNothingIsSent() async throws {
        let server = try await SMTPServerProcess(noTLS: true)
        defer { server.stop() }
        let client = try Self.client(server, tls: .starttls)
        do {
            _ = try await client.send(from: "vigil@example.com", to: ["ops@example.com"], data: Self.message)
            Issue.record("sent without the STARTTLS the settings ask for")
        } catch {
            #expect(error.deliveryFailureKind == .permanent)
            #expect("\(error)".contains("STARTTLS"))
        }
        #expect(try server.received().isEmpty)
    }

    @Test(.enabled(if: EmailChannelTests.available, "aiosmtpd is not installed"))
    func authInClearOnlyWhenAllowed() async throws {
        let server = try await SMTPServerProcess(noTLS: true)
        defer { server.stop() }
        let strict = try Self.client(server, tls: .none)
        do {
            _ = try await strict.send(from: "vigil@example.com", to: ["ops@example.com"], data: Self.message)
            Issue.record("sent AUTH over plaintext without allow_insecure_auth")
        } catch {
            #expect(error.deliveryFailureKind == .permanent)
            #expect("\(error)".contains("allow_insecure_auth"))
        }
        #expect(!server.log.contains("AUTH attempt"), "no credentials reached the server")
        let outcome = try await Self.client(server, tls: .none, allowInsecureAuth: true).send(from: "vigil@example.com", to: ["ops@example.com"], data: Self.message)
        #expect(outcome.reply.code == 250)
        #expect(server.log.contains("AUTH attempt PLAIN"), "the server logs AUTH: the check above can fail")
        #expect(try server.received().count == 1)
        // Without credentials, plaintext is fine.
        _ = try await Self.client(server, tls: .none, username: nil).send(from: "vigil@example.com", to: ["ops@example.com"], data: Self.message)
        #expect(try server.received().count == 2)
    }

    @Test(.enabled(if: EmailChannelTests.available, "aiosmtpd is not installed"))
    func temporarilyRefusedRecipientFailsTheWholeDeliveryAsTransient() async throws {
        let server = try await SMTPServerProcess()
        defer { server.stop() }
        let channel = try Self.channel(server, to: ["ops@example.com", "greylisted@example.com"])
        do {
            try await channel.deliver(TestNotifications.firing(channel: "mail"), attempt: 1)
            Issue.record("delivered although a recipient was greylisted")
        } catch {
            #expect(error.kind == .transient)
            #expect(error.detail.contains("450"), "\(error.detail)")
        }
        #expect(try server.received().isEmpty, "nobody got it, so the retry doubles nothing")
    }

    @Test(.enabled(if: EmailChannelTests.available, "aiosmtpd is not installed"))
    func permanentlyRefusedRecipientsAreSkippedUnlessAllAre() async throws {
        let server = try await SMTPServerProcess()
        defer { server.stop() }
        try await Self.channel(server, to: ["ops@example.com", "nobody@example.com"]).deliver(TestNotifications.firing(channel: "mail"), attempt: 1)
        let received = try server.received()
        #expect(received.count == 1)
        #expect(received.first?.recipients == ["ops@example.com"])

        let nobody = try Self.channel(server, to: ["nobody@example.com"])
        do {
            try await nobody.deliver(TestNotifications.firing(channel: "mail"), attempt: 1)
            Issue.record("delivered with every recipient refused")
        } catch {
            #expect(error.kind == .permanent)
            #expect(error.detail.contains("550"), "\(error.detail)")
        }
    }
}
