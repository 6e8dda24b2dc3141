import Foundation
import Logging
import Testing
import VigilAlerting
@testable import VigilNotify

/// The SMTP client against a scripted server, for the conversations a real server will not hold on
/// request: HELO fallback, bytes injected after STARTTLS, refusing greetings, unanswered commands,
/// a refused message.
@Suite struct ScriptedSMTPTests {
    static func client(port: Int, tls: EmailTLSMode = .none, commandTimeout: Duration = .seconds(5)) throws -> SMTPClient {
        try SMTPClient(
            configuration: SMTPClientConfiguration(
                host: "127.0.0.1", port: port, tls: tls, helloName: "vigil.test", commandTimeout: commandTimeout, timeout: .seconds(10)
            ),
            logger: Logger(label: "test")
        )
    }

    static let message = SMTPDataEncoding.encode(Array("Subject: t\r\n\r\nbody\r\n".utf8))

    /// A well-behaved server's answers, with `overrides` by command prefix.
    static func script(_ overrides: [String: String?] = [:]) -> @Sendable (String) -> String? {
        { command in
            let upper = command.uppercased()
            if let match = overrides.keys.sorted(by: { $0.count > $1.count }).first(where: { upper.hasPrefix($0) }) { return overrides[match] ?? nil }
            if upper.hasPrefix("EHLO") { return "250-scripted\r\n250 8BITMIME\r\n" }
            if upper.hasPrefix("HELO") { return "250 scripted\r\n" }
            if upper.hasPrefix("MAIL") || upper.hasPrefix("RCPT") { return "250 OK\r\n" }
            if upper == "DATA" { return "354 go ahead\r\n" }
            if command == "<data>" { return "250 2.0.0 queued as 42\r\n" }
            if upper == "QUIT" { return "221 bye\r\n" }
            return "502 5.5.2 what\r\n"
        }
    }

    static func sendExpectingFailure(_ client: SMTPClient) async throws -> SMTPError {
        do {
            _ = try await client.send(from: "vigil@example.com", to: ["ops@example.com"], data: Self.message)
        } catch {
            return error
        }
        throw TestFailure("sent, but a failure was expected")
    }

    @Test func fallsBackToHELOWhenEHLOIsNotUnderstood() async throws {
        let server = try await ScriptedSMTPServer(answer: Self.script(["EHLO": "500 5.5.1 unrecognized\r\n"]))
        defer { Task { await server.stop() } }
        let outcome = try await Self.client(port: server.port).send(from: "vigil@example.com", to: ["ops@example.com"], data: Self.message)
        #expect(outcome.reply.code == 250)
        #expect(server.commands.prefix(6) == ["EHLO vigil.test", "HELO vigil.test", "MAIL FROM:<vigil@example.com>", "RCPT TO:<ops@example.com>", "DATA", "<data>"])
    }

    @Test func bytesInjectedAfterSTARTTLSAreRefused() async throws {
        let server = try await ScriptedSMTPServer(answer: Self.script([
            "EHLO": "250-scripted\r\n250 STARTTLS\r\n",
            "STARTTLS": "220 2.0.0 ready\r\n250 injected before the handshake\r\n",
        ]))
        defer { Task { await server.stop() } }
        let error = try await Self.sendExpectingFailure(try Self.client(port: server.port, tls: .starttls))
        #expect(error.deliveryFailureKind == .permanent)
        #expect("\(error)".contains("before the TLS handshake"), "\(error)")
    }

    @Test func refusingGreetingsAreClassified() async throws {
        let closed = try await ScriptedSMTPServer(greeting: "554 5.3.2 no service for you\r\n", answer: Self.script())
        defer { Task { await closed.stop() } }
        let permanent = try await Self.sendExpectingFailure(try Self.client(port: closed.port))
        #expect(permanent.deliveryFailureKind == .permanent)
        #expect("\(permanent)".contains("554"))

        let busy = try await ScriptedSMTPServer(greeting: "421 4.3.2 too busy\r\n", answer: Self.script())
        defer { Task { await busy.stop() } }
        let transient = try await Self.sendExpectingFailure(try Self.client(port: busy.port))
        #expect(transient.deliveryFailureKind == .transient)
        #expect("\(transient)".contains("421"))
    }

    @Test func unansweredCommandTimesOutWithItsName() async throws {
        let server = try await ScriptedSMTPServer(answer: Self.script(["EHLO": String?.none]))
        defer { Task { await server.stop() } }
        let started = ContinuousClock.now
        let error = try await Self.sendExpectingFailure(try Self.client(port: server.port, commandTimeout: .milliseconds(500)))
        #expect(error.deliveryFailureKind == .transient)
        #expect("\(error)".contains("no reply to EHLO within"), "\(error)")
        #expect(ContinuousClock.now - started < .seconds(3))
    }

    @Test func refusedMessageIsClassifiedByItsReply() async throws {
        let full = try await ScriptedSMTPServer(answer: Self.script(["<DATA>": "452 4.3.1 insufficient storage\r\n"]))
        defer { Task { await full.stop() } }
        #expect(try await Self.sendExpectingFailure(try Self.client(port: full.port)).deliveryFailureKind == .transient)

        let spam = try await ScriptedSMTPServer(answer: Self.script(["<DATA>": "554 5.7.1 looks like spam\r\n"]))
        defer { Task { await spam.stop() } }
        let error = try await Self.sendExpectingFailure(try Self.client(port: spam.port))
        #expect(error.deliveryFailureKind == .permanent)
        #expect("\(error)".contains("554 5.7.1 looks like spam"))
    }
}
